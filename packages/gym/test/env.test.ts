import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ActionOutOfSpaceError, InvalidSeedError, ResetNeededError } from "../src/errors.js";
import { counterEnv } from "./support/test-env.js";

describe("Env contract enforcement", () => {
  it("same seed, same first observation; reset without seed continues the stream", () => {
    fc.assert(
      fc.property(fc.nat(), (seed) => {
        const a = counterEnv();
        const b = counterEnv();
        const [oa] = a.reset({ seed });
        const [ob] = b.reset({ seed });
        expect(ob).toEqual(oa);
        const [oa2] = a.reset();
        expect(oa2[1]).not.toBe(oa[1]);
      }),
      { numRuns: 100 },
    );
  });

  it("rejects step before reset and after the episode ended", () => {
    const env = counterEnv(2);
    expect(() => env.step(0)).toThrow(ResetNeededError);
    expect(() => env.step(0)).toThrow(/before reset/);
    env.reset({ seed: 1 });
    env.step(0);
    const [, , terminated] = env.step(1);
    expect(terminated).toBe(true);
    const steps = env.steps;
    expect(() => env.step(0)).toThrow(/after the episode ended/);
    expect(env.steps).toBe(steps);
    env.reset();
    expect(env.step(0)[0][0]).toBe(1);
  });

  it("rejects actions outside the action space before the env runs, naming space and value", () => {
    const env = counterEnv();
    env.reset({ seed: 3 });
    for (const bad of [2, -1, 0.5, Number.NaN, "1", undefined]) {
      let error: unknown;
      try {
        env.step(bad as number);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ActionOutOfSpaceError);
      expect(error).toBeInstanceOf(RangeError);
      expect((error as Error).message).toContain("Discrete(2)");
      expect((error as Error).message).toContain(typeof bad === "string" ? '"1"' : String(bad));
    }
    expect(env.steps).toBe(0);
    expect(env.step(1)[1]).toBe(2);
  });

  it("rejects bad seeds without touching the generator or the episode", () => {
    const env = counterEnv();
    const [first] = env.reset({ seed: 7 });
    env.step(0);
    for (const seed of [-1, 1.5, Number.NaN, 2 ** 60]) {
      expect(() => env.reset({ seed })).toThrow(InvalidSeedError);
    }
    expect(env.resets).toBe(1);
    expect(env.step(0)[0][0]).toBe(2);
    const fresh = counterEnv();
    fresh.reset({ seed: 7 });
    expect(fresh.reset()[0]).toEqual(env.reset()[0]);
    expect(first[1]).toBeGreaterThanOrEqual(0);
  });
});
