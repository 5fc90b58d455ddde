import { describe, expect, it } from "vitest";
import { assertEnv, checkEnv } from "../src/checker.js";
import type { Env, StepResult } from "../src/env.js";
import { EnvCheckError, InvalidSeedError } from "../src/errors.js";
import { Box } from "../src/spaces/box.js";
import { Dict } from "../src/spaces/dict.js";
import { Discrete } from "../src/spaces/discrete.js";
import { MultiDiscrete } from "../src/spaces/multi-discrete.js";
import { counterEnv, TestEnv } from "./support/test-env.js";

type Obs = Float32Array;

/** A correct toy env: counter with a seeded starting value. */
function goodEnv(overrides: Partial<ConstructorParameters<typeof TestEnv<Obs, number>>[0]> = {}) {
  return new TestEnv<Obs, number>({
    observationSpace: new Box(0, 100, [2]),
    actionSpace: new Discrete(2),
    reset: (ctx) => {
      ctx.state.t = 0;
      ctx.state.x = ctx.draw();
      return [Float32Array.of(0, ctx.state.x), {}];
    },
    step: (ctx, a) => {
      ctx.state.t = (ctx.state.t ?? 0) + 1;
      return [Float32Array.of(ctx.state.t, ctx.state.x ?? 0), a, ctx.state.t >= 5, false, {}];
    },
    ...overrides,
  });
}

/** An env object that does not inherit the Env guards, so it can break every rule. */
function unguarded(stepAfterDone: boolean): Env<unknown, unknown> {
  let t = 0;
  let done = false;
  const env = {
    observationSpace: new Box(0, 100, [1]),
    actionSpace: new Discrete(2),
    reset: (): [Obs, object] => {
      t = 0;
      done = false;
      return [Float32Array.of(0), {}];
    },
    step: (a: number): StepResult<Obs> => {
      if (done && !stepAfterDone) throw new Error("reset first");
      if (a !== 0 && a !== 1) throw new RangeError("bad action");
      t += 1;
      done = t >= 3;
      return [Float32Array.of(t), 0, done, false, {}];
    },
  };
  return env as unknown as Env<unknown, unknown>;
}

describe("checkEnv", () => {
  it("passes correct toy envs, including composite spaces", () => {
    expect(checkEnv(counterEnv())).toEqual({ ok: true, problems: [], skipped: [] });
    expect(checkEnv(goodEnv()).ok).toBe(true);
    const dictEnv = new TestEnv({
      observationSpace: new Dict({ pos: new MultiDiscrete([3, 3]), v: new Box(-1, 1, [1], "float64") }),
      actionSpace: new Box(-1, 1, [2]),
      reset: () => [{ pos: Int32Array.of(1, 1), v: Float64Array.of(0) }, {}],
      step: (_ctx, a) => [
        { pos: Int32Array.of(0, 2), v: Float64Array.of(a[0] as number) },
        1,
        false,
        true,
        {},
      ],
    });
    expect(checkEnv(dictEnv)).toEqual({ ok: true, problems: [], skipped: [] });
  });

  it("names a wrong observation shape", () => {
    const env = goodEnv({ reset: () => [new Float32Array(3), {}] });
    const { ok, problems } = checkEnv(env);
    expect(ok).toBe(false);
    expect(problems.join("\n")).toMatch(
      /reset.*observation Float32Array\(3\).*not in observationSpace Box.*expected shape \(2,\)/,
    );
  });

  it("names an observation outside the bounds and a wrongly typed observation", () => {
    const env = goodEnv({ step: () => [Float32Array.of(0, 500), 0, false, false, {}] });
    expect(checkEnv(env).problems.join("\n")).toMatch(
      /step 0: observation .* \(entry 1 = 500 is outside \[0, 100\]\)/,
    );
    const plain = goodEnv({ reset: () => [[0, 0] as unknown as Obs, {}] });
    expect(checkEnv(plain).problems.join("\n")).toMatch(/expected a Float32Array/);
  });

  it("names a NaN reward, non-boolean flags and a non-object info", () => {
    const env = goodEnv({
      step: () => [
        Float32Array.of(1, 1),
        Number.NaN,
        0 as unknown as boolean,
        false,
        null as unknown as Record<string, unknown>,
      ],
    });
    const text = checkEnv(env).problems.join("\n");
    expect(text).toMatch(/step 0: reward is NaN/);
    expect(text).toMatch(/terminated must be a boolean, got 0/);
    expect(text).toMatch(/info must be a plain object, got null/);
  });

  it("names seeding that does not reproduce", () => {
    let calls = 0;
    const env = goodEnv({
      reset: (ctx) => {
        ctx.state.t = 0;
        calls += 1;
        ctx.state.x = calls; // ignores the seed
        return [Float32Array.of(0, calls), {}];
      },
    });
    expect(checkEnv(env).problems.join("\n")).toMatch(/seeding is not reproducible.*reset observation/);
    let drift = 0;
    const stepDrift = goodEnv({
      step: (ctx) => {
        drift += 0.5;
        ctx.state.t = (ctx.state.t ?? 0) + 1;
        return [Float32Array.of(ctx.state.t, 0), drift, false, false, {}];
      },
    });
    expect(checkEnv(stepDrift).problems.join("\n")).toMatch(/not reproducible.*reward of step 0: 0.5 vs/);
  });

  it("names a step after done that is not refused, and reports every defect at once", () => {
    const lax = checkEnv(unguarded(true));
    expect(lax.problems).toContain(
      "step after the episode ended (terminated or truncated) without reset was accepted; it must throw",
    );
    expect(lax.problems.join("\n")).toMatch(/reset\(\{seed: -1\}\) was accepted/);
    expect(checkEnv(unguarded(false)).problems.some((p) => p.startsWith("step after the episode"))).toBe(
      false,
    );

    const many = goodEnv({
      reset: () => [new Float32Array(5), {}],
      step: () => [Float32Array.of(1, 1), Number.NaN, false, false, {}],
    });
    const text = checkEnv(many).problems.join("\n");
    expect(text).toMatch(/expected shape/);
    expect(text).toMatch(/reward is NaN/);
  });

  it("names an action space that accepts invalid actions and state changed by refused calls", () => {
    let t = 0;
    const env = {
      observationSpace: new Box(0, 100, [1]),
      actionSpace: new Discrete(2),
      reset: () => {
        t = 0;
        return [Float32Array.of(0), {}];
      },
      step: () => {
        t += 1;
        return [Float32Array.of(t), 0, false, false, {}];
      },
    } as unknown as Env<unknown, unknown>;
    const { problems, skipped } = checkEnv(env, { maxEpisodeSteps: 20 });
    const text = problems.join("\n");
    expect(text).toMatch(/step\(2\) outside actionSpace Discrete\(2\) was accepted/);
    expect(text).toMatch(/a refused call .* changed the env/);
    expect(skipped).toEqual(["no episode ended within 20 steps; step-after-done was not checked"]);
  });

  it("refuses its own bad options instead of blaming the env or checking nothing", () => {
    expect(() => checkEnv(counterEnv(), { seed: -1 })).toThrow(InvalidSeedError);
    expect(() => checkEnv(counterEnv(), { steps: Number.NaN })).toThrow(
      /steps must be a positive integer, got NaN/,
    );
    expect(() => checkEnv(counterEnv(), { maxEpisodeSteps: 0 })).toThrow(/maxEpisodeSteps .* got 0/);
  });

  it("names spaces that are not Spaces; assertEnv throws with the list", () => {
    const env = { observationSpace: 3, actionSpace: new Discrete(2) } as unknown as Env<unknown, unknown>;
    expect(checkEnv(env).problems).toEqual(["observationSpace is not a Space: 3"]);
    expect(() => assertEnv(env)).toThrow(EnvCheckError);
    expect(() => assertEnv(counterEnv())).not.toThrow();
  });
});
