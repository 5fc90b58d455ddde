import { describeValue } from "../describe.js";
import type { Env, Info } from "../env.js";
import { firstDifference, snapshot } from "./values.js";

/**
 * What most env properties run: `reset({seed})`, the first episode's actions, then for every
 * further episode `reset()` without a seed and its actions. An episode's remaining actions are
 * dropped once it terminates or is truncated, so every input is a legal run of any env.
 */
export interface EpisodesInput<Act> {
  seed: number;
  episodes: Act[][];
}

/** One call and its outcome, recorded (with copies of arrays) as the env returned it. */
export type TrajectoryEvent<Act = unknown> =
  | { kind: "reset"; seed: number | undefined; obs: unknown; info: Info }
  | {
      kind: "step";
      action: Act;
      obs: unknown;
      reward: number;
      terminated: boolean;
      truncated: boolean;
      info: Info;
    };

export type StepEvent<Act> = Extract<TrajectoryEvent<Act>, { kind: "step" }>;
export type ResetEvent = Extract<TrajectoryEvent<never>, { kind: "reset" }>;

/** Where an event happened, for messages: "episode 1, step 3" or "episode 0, reset". */
export interface EventPlace {
  episode: number;
  /** 0 for the reset, then 1, 2, ... for the steps of the episode. */
  step: number;
}

export function placeText(p: EventPlace): string {
  return p.step === 0 ? `episode ${p.episode}, reset` : `episode ${p.episode}, step ${p.step}`;
}

/** A violation found by a property's check (wrapped with the replay snippet before it escapes). */
export class Violation extends Error {
  constructor(message: string) {
    super(message);
    this.name = "Violation";
  }
}

export function fail(message: string): never {
  throw new Violation(message);
}

/**
 * Plays `input` on `env` and returns the recorded events. `visit` sees each event right after it
 * happened (with the env, so checks can probe it) and may throw a Violation.
 */
export function play<Obs, Act>(
  env: Env<Obs, Act>,
  input: EpisodesInput<Act>,
  visit?: (event: TrajectoryEvent<Act>, place: EventPlace) => void,
): TrajectoryEvent<Act>[] {
  const events: TrajectoryEvent<Act>[] = [];
  input.episodes.forEach((actions, episode) => {
    const seed = episode === 0 ? input.seed : undefined;
    const result = seed === undefined ? env.reset() : env.reset({ seed });
    const reset = recordReset(result, seed);
    events.push(reset);
    visit?.(reset, { episode, step: 0 });
    for (let t = 0; t < actions.length; t++) {
      const step = recordStep(env.step(actions[t] as Act), actions[t] as Act);
      events.push(step);
      visit?.(step, { episode, step: t + 1 });
      if (step.terminated || step.truncated) break;
    }
  });
  return events;
}

export function recordReset(result: unknown, seed: number | undefined): ResetEvent {
  if (!Array.isArray(result) || result.length !== 2) {
    fail(`reset must return [observation, info], got ${describeValue(result)}`);
  }
  return { kind: "reset", seed, obs: snapshot(result[0]), info: snapshot(result[1]) as Info };
}

export function recordStep<Act>(result: unknown, action: Act): StepEvent<Act> {
  if (!Array.isArray(result) || result.length !== 5) {
    fail(`step must return [obs, reward, terminated, truncated, info], got ${describeValue(result)}`);
  }
  const [obs, reward, terminated, truncated, info] = result as unknown[];
  return {
    kind: "step",
    action,
    obs: snapshot(obs),
    reward: reward as number,
    terminated: terminated as boolean,
    truncated: truncated as boolean,
    info: snapshot(info) as Info,
  };
}

/** Places of the events `play` records for `input`, in order (same length as its result). */
export function placesOf(events: readonly TrajectoryEvent<unknown>[]): EventPlace[] {
  const out: EventPlace[] = [];
  let episode = -1;
  let step = 0;
  for (const e of events) {
    if (e.kind === "reset") {
      episode++;
      step = 0;
    } else step++;
    out.push({ episode, step });
  }
  return out;
}

function withoutKeys(info: Info, ignore: readonly string[]): Info {
  if (ignore.length === 0) return info;
  const out: Info = {};
  for (const [k, v] of Object.entries(info)) if (!ignore.includes(k)) out[k] = v;
  return out;
}

/**
 * The first difference between two recorded trajectories, as a sentence, or undefined. Info keys
 * in `ignoreInfoKeys` (wall-clock times, say) are left out of the comparison.
 */
export function trajectoryDifference(
  a: readonly TrajectoryEvent<unknown>[],
  b: readonly TrajectoryEvent<unknown>[],
  ignoreInfoKeys: readonly string[] = [],
  labels: readonly [string, string] = ["first", "second"],
  /** Places of the events when `a` and `b` start mid-run (default: computed from the events). */
  places: readonly EventPlace[] = placesOf(a.length >= b.length ? a : b),
): string | undefined {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    const place = places[i];
    const where = place === undefined ? `event ${i}` : placeText(place);
    if (x === undefined || y === undefined) {
      return `${where}: the ${x === undefined ? labels[0] : labels[1]} run has no such event (${labels[0]}: ${a.length} events, ${labels[1]}: ${b.length})`;
    }
    const d = firstDifference(
      { ...x, info: withoutKeys(x.info, ignoreInfoKeys) },
      { ...y, info: withoutKeys(y.info, ignoreInfoKeys) },
    );
    if (d !== undefined) return `${where}: ${d} (${labels[0]} vs ${labels[1]})`;
  }
  return undefined;
}
