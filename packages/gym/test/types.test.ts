import { describe, expect, it } from "vitest";
import type { Env } from "../src/env.js";
import { ActionOutOfSpaceError, InvalidSpaceError } from "../src/errors.js";
import { make, register } from "../src/registry.js";
import { Box } from "../src/spaces/box.js";
import { Discrete } from "../src/spaces/discrete.js";
import { flatten } from "../src/spaces/flatten.js";
import { SyncVectorEnv } from "../src/vector.js";
import { TimeLimit } from "../src/wrappers/time-limit.js";
import { counterEnv, type TestEnv } from "./support/test-env.js";

declare module "../src/registry.js" {
  interface RegisteredEnvs {
    "types/Counter-v0": TestEnv<Float32Array, number>;
  }
}

// Each @ts-expect-error below fails `pnpm typecheck` if the line ever compiles; the runtime checks
// show the guard still catches what a JavaScript caller could pass.
describe("types make illegal use a compile error", () => {
  it("actions, dtypes and flatten values are typed", () => {
    const env = new TimeLimit(counterEnv(), 5);
    env.reset({ seed: 0 });
    // @ts-expect-error a string is not a Discrete action
    expect(() => env.step("1")).toThrow(ActionOutOfSpaceError);
    // @ts-expect-error unknown dtype
    expect(() => new Box(0, 1, [1], "float16")).toThrow(InvalidSpaceError);
    // @ts-expect-error a Discrete value is a number
    expect(() => flatten(new Discrete(3), Int32Array.of(1))).toThrow(RangeError);
    const ints: Int32Array = new Box(0, 3, [2], "int32").sample();
    // @ts-expect-error a float64 Box samples Float64Array
    const floats: Float32Array = new Box(0, 1, [2], "float64").sample();
    expect([ints, floats].map((a) => a.constructor.name)).toEqual(["Int32Array", "Float64Array"]);
  });

  it("vector actions are typed", () => {
    const v = new SyncVectorEnv([() => counterEnv()]);
    v.reset({ seed: 0 });
    // @ts-expect-error actions must be numbers here
    expect(() => v.step(["a"])).toThrow(ActionOutOfSpaceError);
  });

  it("make is typed for ids declared in RegisteredEnvs", () => {
    register({ id: "types/Counter-v0", entryPoint: () => counterEnv() });
    const env: Env<Float32Array, number> = make("types/Counter-v0");
    const [obs] = env.reset({ seed: 1 });
    expect(obs).toBeInstanceOf(Float32Array);
    // @ts-expect-error the declared env takes number actions
    expect(() => env.step([0])).toThrow(ActionOutOfSpaceError);
    const untyped: Env<unknown, unknown> = make("types/Counter-v0", { length: 2 });
    expect(untyped.spec?.kwargs).toEqual({ length: 2 });
  });
});
