import type { Env, Info } from "./env.js";
import { ActionOutOfSpaceError, ResetNeededError } from "./errors.js";
import { assertSeed, InvalidSeedError } from "./random.js";
import { Box } from "./spaces/box.js";
import { flatdim, flattenInto, flattenSpace } from "./spaces/flatten.js";
import type { Space } from "./spaces/space.js";

/**
 * How finished sub-envs restart (Gymnasium 1.x `AutoresetMode`):
 * - "next-step": the step that ends an episode returns its final observation, reward and info as
 *   usual; the *next* `step` resets that env instead of stepping it (its action is ignored) and
 *   returns the reset observation and info with reward 0 and terminated = truncated = 0.
 * - "same-step": the env is reset within the step that ended it; that step returns the reset
 *   observation, and its info holds `finalObservation` and `finalInfo` of the finished episode.
 */
export type AutoresetMode = "next-step" | "same-step";

export interface SyncVectorEnvOptions {
  autoresetMode?: AutoresetMode;
}

export interface VectorResetArgs {
  /** Sub-env k is reset with seed + k. */
  seed?: number;
  options?: Record<string, unknown>;
}

export interface VectorStepOptions {
  /**
   * Only sub-envs k with mask[k] true are stepped (or autoreset). The others are left untouched and
   * report their previous observation row, reward 0, terminated = truncated = 0 and an empty info.
   */
  mask?: ArrayLike<boolean>;
}

export type VectorStepResult = [
  /** [numEnvs, flatdim] row-major: row k is flatten(singleObservationSpace, obs_k). */
  observations: Float32Array,
  rewards: Float32Array,
  terminated: Uint8Array,
  truncated: Uint8Array,
  infos: Info[],
];

/** Runs N copies of an env in the calling thread, with observations batched as flat float32 rows. */
export class SyncVectorEnv<Obs, Act> {
  readonly envs: readonly Env<Obs, Act>[];
  readonly numEnvs: number;
  readonly autoresetMode: AutoresetMode;
  readonly singleObservationSpace: Space<Obs>;
  readonly singleActionSpace: Space<Act>;
  /** Box of shape [numEnvs, flatdim(singleObservationSpace)]: the batched observations. */
  readonly observationSpace: Box<"float32">;
  /** Length of one observation row. */
  readonly obsDim: number;
  #pendingReset: Uint8Array;
  #lastObs: Float32Array;
  #started = false;

  constructor(envFns: readonly (() => Env<Obs, Act>)[], opts: SyncVectorEnvOptions = {}) {
    if (envFns.length === 0) throw new RangeError("SyncVectorEnv needs at least one env");
    const mode = opts.autoresetMode ?? "next-step";
    if (mode !== "next-step" && mode !== "same-step") {
      throw new RangeError(`autoresetMode must be "next-step" or "same-step", got ${JSON.stringify(mode)}`);
    }
    this.autoresetMode = mode;
    this.envs = envFns.map((fn) => fn());
    const first = this.envs[0] as Env<Obs, Act>;
    this.envs.forEach((env, k) => {
      if (
        !env.observationSpace.equals(first.observationSpace) ||
        !env.actionSpace.equals(first.actionSpace)
      ) {
        throw new TypeError(
          `sub-env ${k} has spaces ${env.observationSpace.toString()} / ${env.actionSpace.toString()}, ` +
            `sub-env 0 has ${first.observationSpace.toString()} / ${first.actionSpace.toString()}`,
        );
      }
    });
    this.numEnvs = this.envs.length;
    this.singleObservationSpace = first.observationSpace;
    this.singleActionSpace = first.actionSpace;
    this.obsDim = flatdim(this.singleObservationSpace);
    const row = flattenSpace(this.singleObservationSpace);
    const tile = (a: ArrayLike<number>) => Array.from({ length: this.numEnvs }, () => Array.from(a)).flat();
    this.observationSpace = new Box(tile(row.low), tile(row.high), [this.numEnvs, this.obsDim], "float32");
    this.#pendingReset = new Uint8Array(this.numEnvs);
    this.#lastObs = new Float32Array(this.numEnvs * this.obsDim);
  }

  /** Resets every sub-env (sub-env k with seed + k when a seed is given). */
  reset(args: VectorResetArgs = {}): [Float32Array, Info[]] {
    const { seed, options } = args;
    if (seed !== undefined) {
      assertSeed(seed);
      // Written as a subtraction: seed + numEnvs would round near 2^53.
      if (seed > Number.MAX_SAFE_INTEGER - (this.numEnvs - 1)) throw new InvalidSeedError(seed);
    }
    const obs = new Float32Array(this.numEnvs * this.obsDim);
    // Sub-envs reset before one that throws cannot be rolled back: until a reset succeeds, step
    // refuses to run rather than mix their new episodes with stale rows and autoreset flags.
    this.#started = false;
    const infos = this.envs.map((env, k) => {
      const [o, info] = env.reset(seed === undefined ? { options } : { seed: seed + k, options });
      flattenInto(this.singleObservationSpace, o, obs, k * this.obsDim);
      return info;
    });
    this.#pendingReset.fill(0);
    this.#lastObs = obs.slice();
    this.#started = true;
    return [obs, infos];
  }

  /**
   * Steps every sub-env k (or those with mask[k]) with actions[k]. Everything is validated before any
   * sub-env moves, so a throw leaves all of them as they were.
   */
  step(actions: ArrayLike<Act>, opts: VectorStepOptions = {}): VectorStepResult {
    const n = this.numEnvs;
    const { mask } = opts;
    if (!this.#started) throw new ResetNeededError("SyncVectorEnv", "never-reset");
    if (actions.length !== n) throw new RangeError(`expected ${n} actions, got ${actions.length}`);
    if (mask !== undefined && mask.length !== n)
      throw new RangeError(`expected a mask of ${n}, got ${mask.length}`);
    const active = (k: number) => mask === undefined || Boolean(mask[k]);
    for (let k = 0; k < n; k++) {
      if (!active(k) || this.#pendingReset[k] === 1) continue;
      const why = this.singleActionSpace.mismatch(actions[k]);
      if (why !== undefined) {
        throw new ActionOutOfSpaceError(this.singleActionSpace, actions[k], `sub-env ${k}: ${why}`);
      }
    }

    const obs = this.#lastObs.slice();
    const rewards = new Float32Array(n);
    const terminated = new Uint8Array(n);
    const truncated = new Uint8Array(n);
    const infos: Info[] = [];
    // A sub-env that throws after others moved leaves the batch inconsistent: require a reset.
    this.#started = false;
    for (let k = 0; k < n; k++) {
      const env = this.envs[k] as Env<Obs, Act>;
      if (!active(k)) {
        infos.push({});
        continue;
      }
      const at = k * this.obsDim;
      if (this.#pendingReset[k] === 1) {
        const [o, info] = env.reset();
        this.#pendingReset[k] = 0;
        this.#write(o, obs, at);
        infos.push(info);
        continue;
      }
      const [o, reward, term, trunc, info] = env.step(actions[k] as Act);
      rewards[k] = reward;
      terminated[k] = term ? 1 : 0;
      truncated[k] = trunc ? 1 : 0;
      if (!(term || trunc)) {
        this.#write(o, obs, at);
        infos.push(info);
      } else if (this.autoresetMode === "next-step") {
        this.#write(o, obs, at);
        this.#pendingReset[k] = 1;
        infos.push(info);
      } else {
        const [o2, resetInfo] = env.reset();
        this.#write(o2, obs, at);
        infos.push({ ...resetInfo, finalObservation: o, finalInfo: info });
      }
    }
    this.#lastObs = obs.slice();
    this.#started = true;
    return [obs, rewards, terminated, truncated, infos];
  }

  #write(o: Obs, out: Float32Array, at: number): void {
    out.fill(0, at, at + this.obsDim);
    flattenInto(this.singleObservationSpace, o, out, at);
  }

  /** Whether sub-env k will be reset (not stepped) by the next step (next-step mode). */
  autoresetPending(k: number): boolean {
    return this.#pendingReset[k] === 1;
  }

  close(): void {
    for (const env of this.envs) env.close();
  }
}
