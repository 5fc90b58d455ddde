import { describeValue } from "../describe.js";
import type { Env, Info } from "../env.js";
import { flatten, flattenSpace } from "../spaces/flatten.js";
import { FlattenObservation } from "../wrappers/flatten-observation.js";
import { RecordEpisodeStatistics } from "../wrappers/record-episode-statistics.js";
import { TimeLimit } from "../wrappers/time-limit.js";
import { type CheckContext, withEnv } from "./contract-checks.js";
import {
  type EpisodesInput,
  type EventPlace,
  fail,
  placeText,
  recordReset,
  recordStep,
  type TrajectoryEvent,
} from "./rollout.js";
import { firstDifference } from "./values.js";

export interface WrapperInput<Act> extends EpisodesInput<Act> {
  /** The TimeLimit tried. */
  maxEpisodeSteps: number;
}

type PairCheck<Act> = (wrapped: TrajectoryEvent<Act>, plain: TrajectoryEvent<Act>, place: EventPlace) => void;

/**
 * Plays `input` on a wrapped env and on a plain one side by side: both reset together, both step
 * with the same actions, and an episode ends when the *wrapped* env ends it (the plain one is then
 * reset too, as the wrapper's reset resets what it wraps).
 */
function lockstep<WObs, Obs, Act>(
  wrapped: Env<WObs, Act>,
  plain: Env<Obs, Act>,
  input: EpisodesInput<Act>,
  check: PairCheck<Act>,
): void {
  const space = wrapped.observationSpace;
  input.episodes.forEach((actions, episode) => {
    const seed = episode === 0 ? input.seed : undefined;
    const args = seed === undefined ? undefined : { seed };
    const w = recordReset(wrapped.reset(args), seed);
    const p = recordReset(plain.reset(args), seed);
    const at = (step: number): EventPlace => ({ episode, step });
    const inSpace = (e: TrajectoryEvent<Act>, place: EventPlace) => {
      const why = space.mismatch(e.obs);
      if (why !== undefined) {
        fail(
          `${placeText(place)}: observation ${describeValue(e.obs)} is not in ${space.toString()} (${why})`,
        );
      }
    };
    inSpace(w, at(0));
    check(w, p, at(0));
    for (let t = 0; t < actions.length; t++) {
      const action = actions[t] as Act;
      const ws = recordStep(wrapped.step(action), action);
      if (ws.kind !== "step") return;
      inSpace(ws, at(t + 1));
      check(ws, recordStep(plain.step(action), action), at(t + 1));
      if (ws.terminated || ws.truncated) break;
    }
  });
}

function withoutKeys(info: Info, ignore: readonly string[]): Info {
  const out: Info = {};
  for (const [k, v] of Object.entries(info)) if (!ignore.includes(k)) out[k] = v;
  return out;
}

/** The parts every wrapper here must pass through unchanged. */
function same<Act>(
  name: string,
  w: TrajectoryEvent<Act>,
  p: TrajectoryEvent<Act>,
  place: EventPlace,
  ignore: readonly string[],
  opts: { obs?: boolean } = {},
): void {
  const pick = (e: TrajectoryEvent<Act>) =>
    e.kind === "reset"
      ? { obs: opts.obs === false ? null : e.obs, info: withoutKeys(e.info, ignore) }
      : {
          obs: opts.obs === false ? null : e.obs,
          reward: e.reward,
          terminated: e.terminated,
          info: withoutKeys(e.info, ignore),
        };
  const d = firstDifference(pick(w), pick(p));
  if (d !== undefined) fail(`${name}: ${placeText(place)}: wrapped vs unwrapped env: ${d}`);
}

/**
 * TimeLimit, RecordEpisodeStatistics and FlattenObservation over the env keep the contract
 * (observations in the wrapper's space) and do exactly their one job on an identical run.
 */
export function checkWrappers<Obs, Act>(ctx: CheckContext<Obs, Act>, input: WrapperInput<Act>): void {
  const ignore = ctx.ignoreInfoKeys;
  const m = input.maxEpisodeSteps;
  withEnv(ctx, (inner) =>
    withEnv(ctx, (plain) => {
      const name = `TimeLimit(env, ${m})`;
      lockstep(new TimeLimit(inner, m), plain, input, (w, p, place) => {
        same(name, w, p, place, ignore);
        if (w.kind === "step" && p.kind === "step") {
          const expected = p.truncated || place.step >= m;
          if (w.truncated !== expected) {
            fail(`${name}: ${placeText(place)}: truncated is ${w.truncated}, expected ${expected}`);
          }
        }
      });
    }),
  );

  withEnv(ctx, (inner) =>
    withEnv(ctx, (plain) => {
      const name = "RecordEpisodeStatistics(env)";
      let total = 0;
      lockstep(new RecordEpisodeStatistics(inner), plain, input, (w, p, place) => {
        same(name, w, p, place, [...ignore, "episode"]);
        if (w.kind === "reset") total = 0;
        if (w.kind !== "step" || p.kind !== "step") return;
        if (w.truncated !== p.truncated) fail(`${name}: ${placeText(place)}: truncated changed`);
        total += p.reward;
        const episode = w.info.episode as { r: unknown; l: unknown; t: unknown } | undefined;
        if (!(w.terminated || w.truncated)) return;
        if (episode === undefined)
          fail(`${name}: ${placeText(place)}: the final info has no episode statistics`);
        if (episode.r !== total || episode.l !== place.step || !(Number(episode.t) >= 0)) {
          fail(
            `${name}: ${placeText(place)}: info.episode = ${describeValue(episode)}, expected r = ${total}, l = ${place.step}, t >= 0`,
          );
        }
      });
    }),
  );

  withEnv(ctx, (inner) =>
    withEnv(ctx, (plain) => {
      try {
        flattenSpace(inner.observationSpace);
      } catch {
        return; // a Space subclass flatten does not know: the wrapper does not apply
      }
      const name = "FlattenObservation(env)";
      lockstep(new FlattenObservation(inner), plain, input, (w, p, place) => {
        same(name, w, p, place, ignore, { obs: false });
        if (w.kind === "step" && p.kind === "step" && w.truncated !== p.truncated) {
          fail(`${name}: ${placeText(place)}: truncated changed`);
        }
        const d = firstDifference(w.obs, flatten(plain.observationSpace, p.obs as Obs));
        if (d !== undefined)
          fail(`${name}: ${placeText(place)}: observation is not flatten(space, obs): ${d}`);
      });
    }),
  );
}
