import { describe, expect, it } from "vitest";
import type { Env } from "../src/env.js";
import { ActionOutOfSpaceError, ResetNeededError } from "../src/errors.js";
import { Box } from "../src/spaces/box.js";
import { Dict } from "../src/spaces/dict.js";
import { Discrete } from "../src/spaces/discrete.js";
import { flatten } from "../src/spaces/flatten.js";
import { Tuple } from "../src/spaces/tuple.js";
import { ActionWrapper, ObservationWrapper, RewardWrapper, Wrapper } from "../src/wrapper.js";
import { FlattenObservation } from "../src/wrappers/flatten-observation.js";
import { RecordEpisodeStatistics } from "../src/wrappers/record-episode-statistics.js";
import { TimeLimit } from "../src/wrappers/time-limit.js";
import { counterEnv, TestEnv } from "./support/test-env.js";

class Doubled<Obs, Act> extends RewardWrapper<Obs, Act> {
  reward(r: number): number {
    return 2 * r;
  }
}

class Negated extends ActionWrapper<number, Float32Array, number> {
  override readonly actionSpace = new Discrete(2, { start: -1 });
  action(a: number): number {
    return -a;
  }
}

class FirstEntry extends ObservationWrapper<number, Float32Array, number> {
  override readonly observationSpace = new Discrete(101);
  observation(obs: Float32Array): number {
    return obs[0] as number;
  }
}

describe("Wrapper", () => {
  it("forwards spaces, rng, render, close, unwrapped", () => {
    const inner = counterEnv();
    const w = new Wrapper<Float32Array, number>(inner);
    expect(w.observationSpace).toBe(inner.observationSpace);
    expect(w.unwrapped).toBe(inner);
    const [o1] = w.reset({ seed: 4 });
    const direct = counterEnv();
    expect(direct.reset({ seed: 4 })[0]).toEqual(o1);
    w.close();
    expect(inner.closed).toBe(true);
    expect(String(new Doubled(w))).toBe("<Doubled<Wrapper<TestEnv>>>");
  });

  it("Observation/Action/Reward wrappers transform one thing each", () => {
    const env = new Doubled(new FirstEntry(new Negated(counterEnv(5))));
    const [obs] = env.reset({ seed: 1 });
    expect(obs).toBe(0);
    const [o, r] = env.step(-1);
    expect([o, r]).toEqual([1, 4]);
    expect(() => env.step(1)).toThrow(ActionOutOfSpaceError);
    expect(() => env.step(1)).toThrow(/Discrete\(2, start=-1\)/);
  });

  it("a wrapper refuses steps after its own episode end", () => {
    const env = new TimeLimit(counterEnv(100), 2);
    env.reset({ seed: 0 });
    env.step(0);
    const [, , terminated, truncated] = env.step(0);
    expect([terminated, truncated]).toEqual([false, true]);
    expect(() => env.step(0)).toThrow(ResetNeededError);
    expect(env.elapsedSteps).toBe(2);
    env.reset();
    expect(env.elapsedSteps).toBe(0);
    expect(() => new TimeLimit(counterEnv(), 0)).toThrow(/positive integer, got 0/);
  });

  it("a reset that throws after seeding restores the generator", () => {
    const env = new TestEnv({
      observationSpace: new Box(0, 1, [1]),
      actionSpace: new Discrete(1),
      reset: (ctx, options) => {
        const v = ctx.draw();
        if (options?.fail) throw new Error("bad options");
        return [Float32Array.of(v), {}];
      },
      step: () => [Float32Array.of(0), 0, false, false, {}],
    });
    env.reset({ seed: 3 });
    expect(() => env.reset({ seed: 99, options: { fail: true } })).toThrow("bad options");
    const [after] = env.reset();
    const again = new TestEnv({
      observationSpace: new Box(0, 1, [1]),
      actionSpace: new Discrete(1),
      reset: (ctx) => [Float32Array.of(ctx.draw()), {}],
      step: () => [Float32Array.of(0), 0, false, false, {}],
    });
    again.reset({ seed: 3 });
    expect(after).toEqual(again.reset()[0]);
  });
});

describe("FlattenObservation", () => {
  it("flattens observations and the space the Gymnasium way", () => {
    const space = new Dict({ pos: new Box(0, 10, [2]), dir: new Discrete(4) });
    const inner = new TestEnv({
      observationSpace: space,
      actionSpace: new Discrete(2),
      reset: () => [{ pos: Float32Array.of(1, 2), dir: 3 }, {}],
      step: () => [{ pos: Float32Array.of(3, 4), dir: 0 }, 0, true, false, {}],
    });
    const env: Env<Float32Array, number> = new FlattenObservation(inner);
    expect(env.observationSpace.toString()).toBe("Box(0.0, [1.0, 1.0, 1.0, 1.0, 10.0, 10.0], (6,), float32)");
    const [obs] = env.reset({ seed: 0 });
    expect(Array.from(obs)).toEqual([0, 0, 0, 1, 1, 2]);
    const [next] = env.step(0);
    expect(next).toEqual(flatten(space, { pos: Float32Array.of(3, 4), dir: 0 }));
    expect(env.observationSpace.contains(next)).toBe(true);
  });
});

describe("FlattenObservation buffers", () => {
  const makeInner = () =>
    new TestEnv({
      observationSpace: new Tuple([new Discrete(3), new Box(-5, 5, [2])]),
      actionSpace: new Discrete(3),
      reset: (ctx) => {
        ctx.state.t = 0;
        return [[0, Float32Array.of(0, 0)] as [number, Float32Array], {}];
      },
      step: (ctx, a) => {
        ctx.state.t = (ctx.state.t ?? 0) + 1;
        return [[a, Float32Array.of(ctx.state.t, -a)] as [number, Float32Array], 0, false, false, {}];
      },
    });

  it("returns a fresh array per observation by default, as Gymnasium does", () => {
    const env = new FlattenObservation(makeInner());
    expect(env.reuseBuffer).toBe(false);
    const [first] = env.reset({ seed: 0 });
    const kept = Array.from(first);
    const [second] = env.step(2);
    expect(second).not.toBe(first);
    expect(Array.from(first)).toEqual(kept);
    expect(Array.from(second)).toEqual([0, 0, 1, 1, -2]);
  });

  it("with reuseBuffer overwrites one array, clearing the previous one-hot entries", () => {
    const env = new FlattenObservation(makeInner(), { reuseBuffer: true });
    const plain = new FlattenObservation(makeInner());
    expect(env.observationSpace.equals(plain.observationSpace)).toBe(true);
    const [first] = env.reset({ seed: 0 });
    expect(Array.from(first)).toEqual(Array.from(plain.reset({ seed: 0 })[0]));
    for (const a of [2, 1, 1, 0, 2]) {
      const [obs] = env.step(a);
      expect(obs).toBe(first);
      expect(Array.from(obs)).toEqual(Array.from(plain.step(a)[0]));
    }
    expect(Array.from(env.reset()[0])).toEqual([1, 0, 0, 0, 0]);
  });
});

describe("RecordEpisodeStatistics", () => {
  it("adds episode return and length on the final step only", () => {
    const env = new RecordEpisodeStatistics(counterEnv(3), { bufferLength: 2 });
    for (let episode = 0; episode < 3; episode++) {
      env.reset({ seed: episode });
      expect(env.step(1)[4].episode).toBeUndefined();
      env.step(0);
      const info = env.step(1)[4];
      expect(info.episode).toMatchObject({ r: 2 + 2 + 4, l: 3 });
      expect((info.episode as { t: number }).t).toBeGreaterThanOrEqual(0);
      expect(info.t).toBe(3);
    }
    expect(env.episodeCount).toBe(3);
    expect(env.returnQueue).toEqual([8, 8]);
    expect(env.lengthQueue).toEqual([3, 3]);
  });
});
