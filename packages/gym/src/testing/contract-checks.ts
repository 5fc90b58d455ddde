import { describeValue } from "../describe.js";
import { type Env, type Info, isCheckpointable } from "../env.js";
import { ActionOutOfSpaceError, ResetNeededError } from "../errors.js";
import { nextDefaultSeed, type Space } from "../spaces/space.js";
import {
  type EpisodesInput,
  fail,
  placesOf,
  placeText,
  play,
  recordReset,
  recordStep,
  type TrajectoryEvent,
  trajectoryDifference,
} from "./rollout.js";
import { firstDifference, snapshot } from "./values.js";

/** What the checks need besides their input. */
export interface CheckContext<Obs, Act> {
  makeEnv: () => Env<Obs, Act>;
  ignoreInfoKeys: readonly string[];
  infoSpaces: Readonly<Record<string, Space<unknown>>> | undefined;
}

export interface CheckpointInput<Act> extends EpisodesInput<Act> {
  /** Where the checkpoint is taken: before event `cut % (number of events + 1)` of the run. */
  cut: number;
}

export interface InvalidActionInput<Act> extends EpisodesInput<Act> {
  /** A value outside the action space, tried before every step. */
  bad: unknown;
}

function isPlainInfo(info: unknown): info is Info {
  return typeof info === "object" && info !== null && !Array.isArray(info) && !ArrayBuffer.isView(info);
}

/** Runs `fn` on a fresh env and closes it whatever happens. */
export function withEnv<Obs, Act, R>(ctx: CheckContext<Obs, Act>, fn: (env: Env<Obs, Act>) => R): R {
  const env = ctx.makeEnv();
  try {
    return fn(env);
  } finally {
    env.close();
  }
}

export function checkObservationsInSpace<Obs, Act>(
  ctx: CheckContext<Obs, Act>,
  input: EpisodesInput<Act>,
): void {
  withEnv(ctx, (env) => {
    const space = env.observationSpace;
    play(env, input, (event, place) => {
      const why = space.mismatch(event.obs);
      if (why !== undefined) {
        fail(
          `${placeText(place)}: observation ${describeValue(event.obs)} is not in ${space.toString()} (${why})`,
        );
      }
      if (!isPlainInfo(event.info))
        fail(`${placeText(place)}: info must be a plain object, got ${describeValue(event.info)}`);
      for (const [key, sub] of Object.entries(ctx.infoSpaces ?? {})) {
        if (!(key in event.info)) continue;
        const bad = sub.mismatch(event.info[key]);
        if (bad !== undefined) {
          fail(
            `${placeText(place)}: info.${key} = ${describeValue(event.info[key])} is not in ${sub.toString()} (${bad})`,
          );
        }
      }
    });
  });
}

export function checkRewardsFinite<Obs, Act>(ctx: CheckContext<Obs, Act>, input: EpisodesInput<Act>): void {
  withEnv(ctx, (env) => {
    play(env, input, (event, place) => {
      if (event.kind !== "step") return;
      const where = placeText(place);
      if (typeof event.reward !== "number")
        fail(`${where}: reward must be a number, got ${describeValue(event.reward)}`);
      if (!Number.isFinite(event.reward)) fail(`${where}: reward ${event.reward} is not finite`);
      for (const flag of ["terminated", "truncated"] as const) {
        if (typeof event[flag] !== "boolean")
          fail(`${where}: ${flag} must be a boolean, got ${describeValue(event[flag])}`);
      }
    });
  });
}

export function checkDeterministic<Obs, Act>(ctx: CheckContext<Obs, Act>, input: EpisodesInput<Act>): void {
  withEnv(ctx, (first) => {
    const a = play(first, input);
    const b = withEnv(ctx, (second) => play(second, input));
    const d = trajectoryDifference(a, b, ctx.ignoreInfoKeys, ["first env", "second env"]);
    if (d !== undefined) fail(`two envs given the same seed and actions differ: ${d}`);
    // The same instance, re-seeded: reset({seed}) must leave nothing of the previous run behind.
    const again = play(first, input);
    const d2 = trajectoryDifference(a, again, ctx.ignoreInfoKeys, ["first run", "re-seeded run"]);
    if (d2 !== undefined) fail(`re-seeding the same env with reset({seed}) does not replay its run: ${d2}`);
  });
}

export function checkResetContinuesStream<Obs, Act>(
  ctx: CheckContext<Obs, Act>,
  input: EpisodesInput<Act>,
): void {
  const reference = withEnv(ctx, (env) => play(env, input));
  // Unseeded resets must draw from the stream reset({seed}) started, not from anything global:
  // disturb every global source we know of (default seeds, other instances) between the calls.
  withEnv(ctx, (env) => {
    withEnv(ctx, (other) => {
      env.reset();
      for (let i = 0; i < 3; i++) nextDefaultSeed();
      const disturbed = play(env, input, () => {
        other.reset();
        nextDefaultSeed();
      });
      const d = trajectoryDifference(reference, disturbed, ctx.ignoreInfoKeys, ["undisturbed", "disturbed"]);
      if (d !== undefined) {
        fail(
          `reset() without a seed does not continue the stream of the last reset({seed}) ` +
            `(other envs and default seeds used in between change it): ${d}`,
        );
      }
    });
  });
}

/** The action the run uses at its first step, if any (to try steps the env must refuse). */
function anyAction<Act>(input: EpisodesInput<Act>): { action: Act } | undefined {
  for (const episode of input.episodes) if (episode.length > 0) return { action: episode[0] as Act };
  return undefined;
}

function expectThrow(
  fn: () => unknown,
  Expected: abstract new (...args: never[]) => Error,
  what: string,
): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof Expected) return;
    fail(
      `${what} threw ${describeValue(e instanceof Error ? `${e.name}: ${e.message}` : e)}, not ${Expected.name}`,
    );
  }
  fail(`${what} did not throw ${Expected.name}`);
}

export function checkStepAfterEnd<Obs, Act>(ctx: CheckContext<Obs, Act>, input: EpisodesInput<Act>): void {
  const some = anyAction(input);
  if (some === undefined) return;
  const reference = withEnv(ctx, (env) => play(env, input));
  withEnv(ctx, (env) => {
    expectThrow(() => env.step(some.action), ResetNeededError, "step before the first reset");
    const probed = play(env, input, (event, place) => {
      if (event.kind === "step" && (event.terminated || event.truncated)) {
        expectThrow(
          () => env.step(event.action),
          ResetNeededError,
          `step after the end (${placeText(place)})`,
        );
      }
    });
    const d = trajectoryDifference(reference, probed, ctx.ignoreInfoKeys, [
      "plain run",
      "run with refused steps",
    ]);
    if (d !== undefined) fail(`a refused step changed the env: ${d}`);
  });
}

export function checkInvalidActionsRefused<Obs, Act>(
  ctx: CheckContext<Obs, Act>,
  input: InvalidActionInput<Act>,
): void {
  const reference = withEnv(ctx, (env) => play(env, input));
  withEnv(ctx, (env) => {
    const probed = play(env, input, (event, place) => {
      if (event.kind === "step" && (event.terminated || event.truncated)) return;
      expectThrow(
        () => env.step(input.bad as Act),
        ActionOutOfSpaceError,
        `step(${describeValue(input.bad)}) after ${placeText(place)}`,
      );
    });
    const d = trajectoryDifference(reference, probed, ctx.ignoreInfoKeys, [
      "plain run",
      "run with refused actions",
    ]);
    if (d !== undefined) fail(`a refused action changed the env: ${d}`);
  });
}

type Op<Act> = { kind: "reset"; seed: number | undefined } | { kind: "step"; action: Act };

function runOps<Obs, Act>(env: Env<Obs, Act>, ops: readonly Op<Act>[]): TrajectoryEvent<Act>[] {
  return ops.map((op) =>
    op.kind === "reset"
      ? recordReset(op.seed === undefined ? env.reset() : env.reset({ seed: op.seed }), op.seed)
      : recordStep(env.step(op.action), op.action),
  );
}

export function checkCheckpointRestores<Obs, Act>(
  ctx: CheckContext<Obs, Act>,
  input: CheckpointInput<Act>,
): void {
  const events = withEnv(ctx, (env) => play(env, input));
  const ops: Op<Act>[] = events.map((e) =>
    e.kind === "reset" ? { kind: "reset", seed: e.seed } : { kind: "step", action: e.action },
  );
  const cut = input.cut % (ops.length + 1);
  const expected = events.slice(cut);
  const places = placesOf(events).slice(cut);
  const where = cut === ops.length ? "at the end of the run" : `before event ${cut} of the run`;
  withEnv(ctx, (a) => {
    if (!isCheckpointable(a)) fail("the env does not implement getState() and setState()");
    runOps(a, ops.slice(0, cut));
    const state = a.getState();
    let frozen: unknown;
    try {
      frozen = structuredClone(state);
    } catch (e) {
      fail(`getState() ${where} returned a value structuredClone cannot copy: ${String(e)}`);
    }
    const tail = runOps(a, ops.slice(cut));
    const drift = firstDifference(snapshot(state), frozen);
    if (drift !== undefined)
      fail(`the state getState() returned ${where} changed as the env went on: ${drift}`);
    const labels0 = ["uninterrupted run", "after getState()"] as const;
    const d0 = trajectoryDifference(expected, tail, ctx.ignoreInfoKeys, labels0, places);
    if (d0 !== undefined) fail(`getState() ${where} changed the env: ${d0}`);
    withEnv(ctx, (b) => {
      if (!isCheckpointable(b)) fail("a second env from the factory is not checkpointable");
      b.setState(structuredClone(frozen));
      const restored = runOps(b, ops.slice(cut));
      const d = trajectoryDifference(
        tail,
        restored,
        ctx.ignoreInfoKeys,
        ["original", "fresh env restored"],
        places,
      );
      if (d !== undefined) fail(`a fresh env restored from the state taken ${where} goes another way: ${d}`);
    });
    a.setState(structuredClone(frozen));
    const rewound = runOps(a, ops.slice(cut));
    const d = trajectoryDifference(tail, rewound, ctx.ignoreInfoKeys, ["original", "rewound env"], places);
    if (d !== undefined) fail(`the env rewound to the state taken ${where} goes another way: ${d}`);
  });
}
