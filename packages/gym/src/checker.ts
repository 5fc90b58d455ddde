import { describeValue } from "./describe.js";
import type { Env } from "./env.js";
import { EnvCheckError } from "./errors.js";
import { assertSeed } from "./random.js";
import { Box } from "./spaces/box.js";
import { Discrete } from "./spaces/discrete.js";
import { MultiBinary } from "./spaces/multi-binary.js";
import { MultiDiscrete } from "./spaces/multi-discrete.js";
import { Space } from "./spaces/space.js";

export interface CheckEnvOptions {
  /** Seed for the reproducibility rollouts (default 0). */
  seed?: number;
  /** Length of the compared rollouts (default 50; shorter if the episode ends). */
  steps?: number;
  /** How many steps to try to reach an episode end, to test that a further step is refused (default 1000). */
  maxEpisodeSteps?: number;
}

export interface EnvCheckReport {
  ok: boolean;
  /** Every violation found, one sentence each. */
  problems: string[];
  /** Checks that could not run (e.g. no episode ended within maxEpisodeSteps). */
  skipped: string[];
}

interface Rollout {
  observations: unknown[];
  rewards: number[];
  ended: boolean;
}

/**
 * Checks an env against the @sgprop/gym contract and reports every violation instead of stopping
 * at the first: spaces, reset/step signatures, observations inside the observation space, finite
 * rewards, boolean flags, reproducible seeding, refusal of bad seeds, of actions outside the action
 * space and of steps after the episode ended, and that refused calls change nothing. It drives the
 * env (resets, steps, reseeds its action space); it does not close it.
 */
export function checkEnv(env: Env<unknown, unknown>, opts: CheckEnvOptions = {}): EnvCheckReport {
  const seed = opts.seed ?? 0;
  const steps = opts.steps ?? 50;
  const maxEpisodeSteps = opts.maxEpisodeSteps ?? 1000;
  // Bad options would otherwise be blamed on the env (a bad seed) or silently skip checks (NaN steps).
  assertSeed(seed);
  for (const [name, n] of [
    ["steps", steps],
    ["maxEpisodeSteps", maxEpisodeSteps],
  ] as const) {
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new RangeError(`checkEnv: ${name} must be a positive integer, got ${describeValue(n)}`);
    }
  }
  const problems = new Set<string>();
  const skipped: string[] = [];
  const report = (): EnvCheckReport => ({ ok: problems.size === 0, problems: [...problems], skipped });
  const attempt = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (e) {
      problems.add(`${what} threw ${errorText(e)}`);
    }
  };

  const obsSpace: unknown = env.observationSpace;
  const actSpace: unknown = env.actionSpace;
  if (!(obsSpace instanceof Space))
    problems.add(`observationSpace is not a Space: ${describeValue(obsSpace)}`);
  if (!(actSpace instanceof Space)) problems.add(`actionSpace is not a Space: ${describeValue(actSpace)}`);
  if (!(obsSpace instanceof Space) || !(actSpace instanceof Space)) return report();

  actSpace.seed(seed);
  const actions = Array.from({ length: Math.max(steps, maxEpisodeSteps) }, () => actSpace.sample());

  const checkObservation = (where: string, obs: unknown) => {
    const why = obsSpace.mismatch(obs);
    if (why !== undefined) {
      problems.add(
        `${where}: observation ${describeValue(obs)} is not in observationSpace ${obsSpace.toString()} (${why})`,
      );
    }
  };
  const checkInfo = (where: string, info: unknown) => {
    if (typeof info !== "object" || info === null || Array.isArray(info)) {
      problems.add(`${where}: info must be a plain object, got ${describeValue(info)}`);
    }
  };
  const doReset = (where: string, s: number | undefined): unknown => {
    const result: unknown = s === undefined ? env.reset() : env.reset({ seed: s });
    if (!Array.isArray(result) || result.length !== 2) {
      problems.add(`${where}: reset must return [observation, info], got ${describeValue(result)}`);
      return undefined;
    }
    checkObservation(where, result[0]);
    checkInfo(where, result[1]);
    return result[0];
  };
  const doStep = (where: string, action: unknown): [unknown, number, boolean] | undefined => {
    const result: unknown = env.step(action);
    if (!Array.isArray(result) || result.length !== 5) {
      problems.add(
        `${where}: step must return [obs, reward, terminated, truncated, info], got ${describeValue(result)}`,
      );
      return undefined;
    }
    const [obs, reward, terminated, truncated, info] = result as unknown[];
    checkObservation(where, obs);
    if (typeof reward !== "number")
      problems.add(`${where}: reward must be a number, got ${describeValue(reward)}`);
    else if (Number.isNaN(reward)) problems.add(`${where}: reward is NaN`);
    else if (!Number.isFinite(reward)) problems.add(`${where}: reward is not finite (${reward})`);
    for (const [name, flag] of [
      ["terminated", terminated],
      ["truncated", truncated],
    ] as const) {
      if (typeof flag !== "boolean")
        problems.add(`${where}: ${name} must be a boolean, got ${describeValue(flag)}`);
    }
    checkInfo(where, info);
    return [obs, reward as number, terminated === true || truncated === true];
  };
  const rollout = (label: string, before?: () => void): Rollout | undefined => {
    // Copies, because an env may hand out one buffer and overwrite it on the next step.
    const observations: unknown[] = [structuredClone(doReset(`reset({seed: ${seed}})`, seed))];
    const rewards: number[] = [];
    before?.();
    for (let t = 0; t < steps; t++) {
      const r = doStep(`${label} step ${t}`, actions[t]);
      if (r === undefined) return undefined;
      observations.push(structuredClone(r[0]));
      rewards.push(r[1]);
      if (r[2]) return { observations, rewards, ended: true };
    }
    return { observations, rewards, ended: false };
  };

  attempt("observationSpace.sample()", () => {
    if (!obsSpace.contains(obsSpace.sample()))
      problems.add("observationSpace.sample() is not contained in itself");
  });

  // Two rollouts from the same seed and actions must agree exactly.
  let first: Rollout | undefined;
  let second: Rollout | undefined;
  attempt("first rollout", () => {
    first = rollout("rollout");
  });
  attempt("second rollout", () => {
    second = rollout("rollout");
  });
  if (first !== undefined && second !== undefined) {
    const diff = firstDifference(first, second);
    if (diff !== undefined)
      problems.add(`seeding is not reproducible: two rollouts after reset({seed: ${seed}}) ${diff}`);
  }

  // Refused calls must throw and change nothing: replay the rollout with them mixed in.
  const refusals = (): void => {
    expectThrow(problems, "reset({seed: -1})", () => env.reset({ seed: -1 }));
    expectThrow(problems, "reset({seed: 1.5})", () => env.reset({ seed: 1.5 }));
    for (const bad of invalidValues(actSpace)) {
      expectThrow(
        problems,
        `step(${describeValue(bad)}) outside actionSpace ${actSpace.toString()}`,
        () => env.step(bad),
        RangeError,
      );
    }
  };
  if (first !== undefined) {
    attempt("rollout with refused calls", () => {
      const third = rollout("rollout with refused calls", refusals);
      const diff = third === undefined || first === undefined ? undefined : firstDifference(first, third);
      if (diff !== undefined)
        problems.add(`a refused call (bad seed or action) changed the env: the rollout ${diff}`);
    });
  }

  attempt("episode-end check", () => {
    doReset("reset", seed);
    for (let t = 0; t < maxEpisodeSteps; t++) {
      const r = doStep(`step ${t}`, actions[t]);
      if (r === undefined) return;
      if (r[2]) {
        expectThrow(problems, "step after the episode ended (terminated or truncated) without reset", () =>
          env.step(actions[t + 1] ?? actions[0]),
        );
        return;
      }
    }
    skipped.push(`no episode ended within ${maxEpisodeSteps} steps; step-after-done was not checked`);
  });
  return report();
}

/** Like checkEnv, but throws EnvCheckError listing every problem. */
export function assertEnv(env: Env<unknown, unknown>, opts?: CheckEnvOptions): void {
  const { ok, problems } = checkEnv(env, opts);
  if (!ok) throw new EnvCheckError(problems);
}

function expectThrow(
  problems: Set<string>,
  what: string,
  fn: () => unknown,
  type: new (...args: never[]) => Error = Error,
): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof type)) problems.add(`${what} threw ${errorText(e)}, expected a ${type.name}`);
    return;
  }
  problems.add(`${what} was accepted; it must throw`);
}

/** Values the action space must refuse. */
function invalidValues(space: Space<unknown>): unknown[] {
  const out: unknown[] = [undefined];
  if (space instanceof Discrete) out.push(space.start + space.n, space.start - 0.5);
  if (space instanceof MultiDiscrete)
    out.push(Int32Array.from(space.nvec, (n, i) => n + (space.start[i] as number)));
  if (space instanceof MultiBinary) out.push(new Uint8Array(space.size).fill(2));
  if (space instanceof Box) {
    const nan = space.sample();
    if (nan instanceof Float32Array || nan instanceof Float64Array) nan.fill(Number.NaN);
    out.push(nan, new Float64Array(space.size + 1));
  }
  return out;
}

function firstDifference(a: Rollout, b: Rollout): string | undefined {
  const n = Math.max(a.observations.length, b.observations.length);
  for (let t = 0; t < n; t++) {
    if (!sameValue(a.observations[t], b.observations[t])) {
      const where = t === 0 ? "the reset observation" : `the observation after step ${t - 1}`;
      return `differ in ${where}: ${describeValue(a.observations[t])} vs ${describeValue(b.observations[t])}`;
    }
    if (t < n - 1 && !Object.is(a.rewards[t], b.rewards[t])) {
      return `differ in the reward of step ${t}: ${a.rewards[t]} vs ${b.rewards[t]}`;
    }
  }
  return a.ended === b.ended ? undefined : "differ in when the episode ends";
}

/** Deep equality over numbers (NaN equals NaN), typed arrays, arrays and plain objects. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (a.constructor !== b.constructor) return false;
  if (ArrayBuffer.isView(a)) {
    const x = a as unknown as ArrayLike<number>;
    const y = b as unknown as ArrayLike<number>;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
    return true;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : describeValue(e);
}
