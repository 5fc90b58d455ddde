import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Env, type Info, type ResetArgs, type StepResult } from "../src/env.js";
import { ActionOutOfSpaceError, InvalidSeedError, ResetNeededError } from "../src/errors.js";
import { Discrete } from "../src/spaces/discrete.js";
import { RecordEpisodeStatistics } from "../src/wrappers/record-episode-statistics.js";
import { TimeLimit } from "../src/wrappers/time-limit.js";
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

describe("refused calls change nothing, through a wrapper stack", () => {
  it("a run with refused actions and seeds interleaved equals the run without them", () => {
    const stack = () => new RecordEpisodeStatistics(new TimeLimit(counterEnv(6), 4));
    const step = fc.oneof(
      { weight: 3, arbitrary: fc.record({ ok: fc.constant(true), action: fc.integer({ min: 0, max: 1 }) }) },
      {
        weight: 1,
        arbitrary: fc.record({ ok: fc.constant(false), action: fc.constantFrom(2, -1, 0.5, Number.NaN) }),
      },
      { weight: 1, arbitrary: fc.record({ ok: fc.constant(false), action: fc.constant("reset-bad-seed") }) },
    );
    fc.assert(
      fc.property(fc.nat(), fc.array(step, { maxLength: 30 }), (seed, script) => {
        const noisy = stack();
        const clean = stack();
        expect(noisy.reset({ seed })).toEqual(clean.reset({ seed }));
        for (const { ok, action } of script) {
          if (!ok) {
            if (action === "reset-bad-seed")
              expect(() => noisy.reset({ seed: -seed - 1 })).toThrow(InvalidSeedError);
            else expect(() => noisy.step(action as number)).toThrow(ActionOutOfSpaceError);
            continue;
          }
          const a = clean.step(action as number);
          const b = noisy.step(action as number);
          expect(b[0]).toEqual(a[0]);
          expect(b.slice(1, 4)).toEqual(a.slice(1, 4));
          if (a[2] || a[3]) {
            expect(() => noisy.step(0)).toThrow(ResetNeededError);
            expect(noisy.reset()[0]).toEqual(clean.reset()[0]);
          }
        }
        expect(noisy.lengthQueue).toEqual(clean.lengthQueue);
        expect(noisy.episodeCount).toBe(clean.episodeCount);
      }),
      { numRuns: 100 },
    );
  });
});

describe("seeding", () => {
  it("applies the seed even when a subclass forgets super.reset", () => {
    class Forgetful extends Env<number, number> {
      readonly observationSpace = new Discrete(1000);
      readonly actionSpace = new Discrete(1);
      override reset(_args?: ResetArgs): [number, Info] {
        return [this.rng.integer(0, 999), {}];
      }
      step(_action: number): StepResult<number> {
        return [this.rng.integer(0, 999), 0, false, false, {}];
      }
    }
    const a = new Forgetful();
    const b = new Forgetful();
    expect(a.reset({ seed: 5 })).toEqual(b.reset({ seed: 5 }));
    expect(a.step(0)).toEqual(b.step(0));
  });

  it("an env that does not override reset says so", () => {
    class NoReset extends Env<number, number> {
      readonly observationSpace = new Discrete(1);
      readonly actionSpace = new Discrete(1);
      step(): StepResult<number> {
        return [0, 0, false, false, {}];
      }
    }
    expect(() => new NoReset().reset()).toThrow(/NoReset must override reset/);
  });
});
