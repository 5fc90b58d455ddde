import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ActionOutOfSpaceError, InvalidSeedError, ResetNeededError } from "../src/errors.js";
import { Discrete } from "../src/spaces/discrete.js";
import { flatten } from "../src/spaces/flatten.js";
import { MultiDiscrete } from "../src/spaces/multi-discrete.js";
import { envProperties } from "../src/testing/index.js";
import { SyncVectorEnv } from "../src/vector.js";
import { counterEnv, type TestEnv, TestEnv as TestEnvClass } from "./support/test-env.js";

type Counter = TestEnv<Float32Array, number>;

function vec(lengths: number[], mode?: "next-step" | "same-step") {
  const envs: Counter[] = [];
  const v = new SyncVectorEnv(
    lengths.map((len) => () => {
      const env = counterEnv(len);
      envs.push(env);
      return env;
    }),
    mode === undefined ? {} : { autoresetMode: mode },
  );
  return { v, envs };
}

const row = (obs: Float32Array, k: number, dim = 2) => Array.from(obs.subarray(k * dim, (k + 1) * dim));

describe("SyncVectorEnv", () => {
  it("batches flat observations [N, flatdim] and seeds sub-env k with seed + k", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.nat({ max: 2 ** 40 }), (n, seed) => {
        const { v } = vec(Array.from({ length: n }, () => 3));
        expect(v.observationSpace.shape).toEqual([n, 2]);
        const [obs, infos] = v.reset({ seed });
        expect(obs).toBeInstanceOf(Float32Array);
        expect(obs.length).toBe(n * 2);
        expect(v.observationSpace.contains(obs)).toBe(true);
        for (let k = 0; k < n; k++) {
          const single = counterEnv(3);
          const [o, info] = single.reset({ seed: seed + k });
          expect(row(obs, k)).toEqual(Array.from(o));
          expect(infos[k]).toEqual(info);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("one-hot encodes discrete observations in the batch", () => {
    const space = new MultiDiscrete([3, 2]);
    const v = new SyncVectorEnv(
      [0, 1].map(
        (k) => () =>
          new TestEnvClass({
            observationSpace: space,
            actionSpace: new Discrete(2),
            reset: () => [Int32Array.of(k + 1, k), {}],
            step: () => [Int32Array.of(0, 1), 0, false, false, {}],
          }),
      ),
    );
    const [obs] = v.reset({ seed: 0 });
    expect(Array.from(obs)).toEqual([
      ...flatten(space, Int32Array.of(1, 0)),
      ...flatten(space, Int32Array.of(2, 1)),
    ]);
    expect(Array.from(v.step([0, 0])[0])).toEqual([1, 0, 0, 0, 1, 1, 0, 0, 0, 1]);
  });

  it("next-step autoreset: the final step shows the final observation and info, the next step resets", () => {
    const { v, envs } = vec([2, 3]);
    v.reset({ seed: 10 });
    v.step([0, 0]);
    const [obs, rewards, terminated, truncated, infos] = v.step([1, 1]);
    expect(Array.from(terminated)).toEqual([1, 0]);
    expect(Array.from(truncated)).toEqual([0, 0]);
    expect(row(obs, 0)[0]).toBe(2); // final observation of env 0
    expect(infos[0]).toEqual({ t: 2 }); // final info of env 0
    expect(Array.from(rewards)).toEqual([3, 3]);
    expect(v.autoresetPending(0)).toBe(true);

    const stepsBefore = (envs[0] as Counter).steps;
    const [obs2, rewards2, term2, , infos2] = v.step([1, 1]);
    expect((envs[0] as Counter).steps).toBe(stepsBefore); // action ignored
    expect((envs[0] as Counter).resets).toBe(2);
    expect(row(obs2, 0)[0]).toBe(0);
    expect(rewards2[0]).toBe(0);
    expect(term2[0]).toBe(0);
    expect(Object.keys(infos2[0] ?? {})).toEqual(["r"]); // the reset info
    expect(term2[1]).toBe(1);
    expect(v.autoresetPending(0)).toBe(false);
    expect(v.step([0, 0])[0][0]).toBe(1);
  });

  it("same-step autoreset: the step returns the reset observation and exposes finalObservation/finalInfo", () => {
    const { v } = vec([1, 3], "same-step");
    v.reset({ seed: 0 });
    const [obs, rewards, terminated, , infos] = v.step([1, 0]);
    expect(terminated[0]).toBe(1);
    expect(rewards[0]).toBe(2);
    expect(row(obs, 0)[0]).toBe(0);
    expect(Array.from(infos[0]?.finalObservation as Float32Array)[0]).toBe(1);
    expect(infos[0]?.finalInfo).toEqual({ t: 1 });
    expect(infos[0]?.r).toBeTypeOf("number");
    expect(v.step([0, 0])[2][0]).toBe(1);
  });

  it("steps only the masked sub-envs; the others keep their row and their pending reset", () => {
    const { v, envs } = vec([1, 5, 5]);
    const [first] = v.reset({ seed: 3 });
    v.step([0, 0, 0]);
    const [obs, rewards, , , infos] = v.step([1, 1, 1], { mask: [false, true, false] });
    expect(envs.map((e) => e.steps)).toEqual([1, 2, 1]);
    expect(row(obs, 0)[0]).toBe(1); // final obs of env 0 kept
    expect(row(obs, 2)[0]).toBe(1);
    expect(Array.from(rewards)).toEqual([0, 3, 0]);
    expect(infos[0]).toEqual({});
    expect(v.autoresetPending(0)).toBe(true);
    const [obs2] = v.step([0, 0, 0], { mask: [true, false, false] });
    expect(envs[0]?.resets).toBe(2);
    expect(row(obs2, 0)).toEqual([0, envs[0]?.ctx.state.r as number].map(Math.fround));
    expect(row(obs2, 1)).toEqual(row(obs, 1));
    expect(first.length).toBe(6);
  });

  it.each([1, 2, 5])(
    "equals independent envs under random masks and actions, both autoreset modes (episodes of %i, envProperties)",
    (length) => {
      const props = envProperties(() => counterEnv(length), { vector: { maxEnvs: 5, maxSteps: 16 } });
      props.vectorMatchesSingles?.assert({ numRuns: 100 });
    },
  );

  it("validates everything before moving any sub-env", () => {
    const { v, envs } = vec([3, 3]);
    expect(() => v.step([0, 0])).toThrow(ResetNeededError);
    v.reset({ seed: 1 });
    expect(() => v.step([0])).toThrow(/expected 2 actions, got 1/);
    expect(() => v.step([0, 0], { mask: [true] })).toThrow(/mask of 2/);
    expect(() => v.step([0, 7])).toThrow(ActionOutOfSpaceError);
    expect(() => v.step([0, 7])).toThrow(/sub-env 1.*7/);
    expect(envs.map((e) => e.steps)).toEqual([0, 0]);
    expect(() => v.reset({ seed: -3 })).toThrow(InvalidSeedError);
    expect(() => v.reset({ seed: Number.MAX_SAFE_INTEGER })).toThrow(InvalidSeedError);
    expect(envs.map((e) => e.resets)).toEqual([1, 1]);
  });

  it("after a sub-env threw mid-batch, refuses to step until a reset succeeds", () => {
    const flaky = (k: number) => () =>
      new TestEnvClass({
        observationSpace: new Discrete(3),
        actionSpace: new Discrete(2),
        reset: (_ctx, options) => {
          if (options?.fail === k) throw new Error(`sub-env ${k} cannot reset`);
          return [0, {}];
        },
        step: (_ctx, a) => {
          if (a === 1 && k === 1) throw new Error("sub-env 1 broke");
          return [1, 0, false, false, {}];
        },
      });
    const v = new SyncVectorEnv([flaky(0), flaky(1)]);
    v.reset({ seed: 0 });
    expect(() => v.reset({ options: { fail: 1 } })).toThrow(/sub-env 1 cannot reset/);
    expect(() => v.step([0, 0])).toThrow(ResetNeededError);
    v.reset();
    expect(Array.from(v.step([0, 0])[0])).toEqual([0, 1, 0, 0, 1, 0]);
    expect(() => v.step([1, 1])).toThrow(/sub-env 1 broke/);
    expect(() => v.step([0, 0])).toThrow(ResetNeededError);
    v.reset();
    expect(() => v.step([0, 0])).not.toThrow();
  });

  it("refuses sub-envs with different spaces", () => {
    const other = () =>
      new TestEnvClass({
        observationSpace: new Discrete(3),
        actionSpace: new Discrete(2),
        reset: () => [0, {}],
        step: () => [0, 0, false, false, {}],
      });
    expect(() => new SyncVectorEnv<unknown, number>([() => counterEnv(), other])).toThrow(
      /sub-env 1 has spaces Discrete\(3\)/,
    );
    const { v, envs } = vec([2, 2]);
    v.close();
    expect(envs.every((e) => e.closed)).toBe(true);
  });
});
