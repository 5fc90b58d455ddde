import { assertSeed, Rng } from "@sgprop/gym";
import { type LabyrinthKind, NUM_ACTIONS, PAPER_OBS_DIM } from "./cells.js";
import { InvalidActionError, LabyrinthNotResetError } from "./errors.js";
import { LabyrinthState } from "./labyrinth-state.js";
import type { InjectedMaze } from "./maze.js";
import { type MazeRandom, ReferenceMazeRandom, RngMazeRandom } from "./maze-random.js";
import { assertReferenceSeed } from "./mt19937.js";
import { writePaperObservation } from "./paper-observation.js";

export type { LabyrinthKind };

/** Which random source builds mazes: the env's `Rng` (default) or the CPython/numpy replay. */
export type MazeGenerator = "default" | "reference";

export interface LabyrinthVectorOptions {
  kind: LabyrinthKind;
  numEnvs: number;
  /** Maze size (h, w); default [6, 6], the paper's. */
  mazeDims?: [number, number];
  /** Default 80 for escape, 40 for explore (the paper's). */
  episodeLength?: number;
  /** Maze source for seeded resets; default "default" (same mazes as a single env with the same seed). */
  generator?: MazeGenerator;
}

export interface VectorResetArgs {
  seed?: number;
  options?: { maze?: InjectedMaze };
}

/** Default episode lengths of the paper's settings. */
export const PAPER_EPISODE_LENGTH: Readonly<Record<LabyrinthKind, number>> = { escape: 80, explore: 40 };

/**
 * N labyrinths stepped in place into preallocated typed arrays, each row being the paper's wrapped
 * observation (PreviousAction, Antialias, Flatten: 56 values). No auto-reset: like the paper's
 * trainer, the caller resets envs itself and masks finished ones out with `active`.
 */
export class LabyrinthVectorEnv {
  readonly numEnvs: number;
  readonly obsDim = PAPER_OBS_DIM;
  readonly numActions = NUM_ACTIONS;
  readonly kind: LabyrinthKind;
  readonly generator: MazeGenerator;
  /** [numEnvs * obsDim], overwritten in place. */
  readonly observations: Float32Array;
  /** [numEnvs] raw env rewards of the last step (0 after a reset). */
  readonly rewards: Float32Array;
  readonly terminated: Uint8Array;
  readonly truncated: Uint8Array;
  private readonly states: LabyrinthState[];
  private readonly rngs: (Rng | undefined)[];
  private readonly referenceRandoms: (ReferenceMazeRandom | undefined)[];
  private readonly positionBuffer: Int32Array;
  // Slots never reset yet; while nonzero, step checks readiness slot by slot.
  private neverReset: number;
  private readonly everReset: Uint8Array;

  constructor(opts: LabyrinthVectorOptions) {
    const { kind, numEnvs } = opts;
    if (!Number.isSafeInteger(numEnvs) || numEnvs < 1) {
      throw new RangeError(`numEnvs must be a positive integer, got ${String(numEnvs)}`);
    }
    const generator = opts.generator ?? "default";
    if (generator !== "default" && generator !== "reference") {
      throw new RangeError(`generator must be "default" or "reference", got ${JSON.stringify(generator)}`);
    }
    this.generator = generator;
    this.kind = kind;
    this.numEnvs = numEnvs;
    const mazeDims = opts.mazeDims ?? [6, 6];
    const episodeLength = opts.episodeLength ?? PAPER_EPISODE_LENGTH[kind] ?? 80;
    this.states = Array.from(
      { length: numEnvs },
      () => new LabyrinthState(kind, { mazeDims, episodeLength }),
    );
    this.rngs = new Array<Rng | undefined>(numEnvs).fill(undefined);
    this.referenceRandoms = new Array<ReferenceMazeRandom | undefined>(numEnvs).fill(undefined);
    this.observations = new Float32Array(numEnvs * PAPER_OBS_DIM);
    this.rewards = new Float32Array(numEnvs);
    this.terminated = new Uint8Array(numEnvs);
    this.truncated = new Uint8Array(numEnvs);
    this.positionBuffer = new Int32Array(numEnvs * 2);
    this.neverReset = numEnvs;
    this.everReset = new Uint8Array(numEnvs);
  }

  /** The single-env state behind slot k (grid, explored cells, counters); read-only use. */
  state(k: number): LabyrinthState {
    return this.stateAt(k);
  }

  private stateAt(k: number): LabyrinthState {
    const s = this.states[k];
    if (s === undefined) throw new RangeError(`env index must be in 0..${this.numEnvs - 1}, got ${k}`);
    return s;
  }

  /**
   * Resets env k: with `options.maze` the given maze is used; otherwise a maze is generated from
   * `seed` (or, without a seed, from env k's generator where the previous reset left it; a slot
   * never seeded starts from seed k). A given seed always re-seeds the slot's generator.
   */
  resetEnv(k: number, args: VectorResetArgs = {}): void {
    const s = this.stateAt(k);
    const { seed, options } = args;
    if (options?.maze !== undefined) {
      // Everything that can throw runs before the slot's generator is re-seeded, so a rejected
      // seed or maze leaves the slot (episode and generator) as it was.
      if (seed !== undefined) this.checkSeed(seed);
      s.resetInjected(options.maze);
      if (seed !== undefined) this.reseed(k, seed);
    } else {
      if (seed !== undefined) this.reseed(k, seed);
      s.resetGenerated(this.mazeRandom(k));
    }
    if (!this.everReset[k]) {
      this.everReset[k] = 1;
      this.neverReset--;
    }
    writePaperObservation(this.observations, k * PAPER_OBS_DIM, s.window, 4, 0, true);
    this.rewards[k] = 0;
    this.terminated[k] = 0;
    this.truncated[k] = 0;
  }

  private checkSeed(seed: number): void {
    if (this.generator === "reference") assertReferenceSeed(seed);
    else assertSeed(seed);
  }

  /** Re-seeds slot k's maze generator (validating the seed first). */
  private reseed(k: number, seed: number): void {
    if (this.generator === "reference") {
      const r = this.referenceRandoms[k];
      if (r === undefined) this.referenceRandoms[k] = ReferenceMazeRandom.fromSeed(seed);
      else r.reseed(seed);
    } else this.rngs[k] = Rng.fromSeed(seed);
  }

  private mazeRandom(k: number): MazeRandom {
    if (this.generator === "reference") {
      let r = this.referenceRandoms[k];
      if (r === undefined) {
        r = ReferenceMazeRandom.fromSeed(k);
        this.referenceRandoms[k] = r;
      }
      return r;
    }
    let rng = this.rngs[k];
    if (rng === undefined) {
      rng = Rng.fromSeed(k);
      this.rngs[k] = rng;
    }
    return new RngMazeRandom(rng);
  }

  /** Steps the envs with `active[k]` nonzero (all when omitted); actions are integers 0..3. */
  step(actions: ArrayLike<number>, active?: ArrayLike<number>): void {
    const n = this.numEnvs;
    if (actions.length < n) throw new RangeError(`expected ${n} actions, got ${actions.length}`);
    if (active !== undefined && active.length < n) {
      throw new RangeError(`expected ${n} active flags, got ${active.length}`);
    }
    const states = this.states;
    // Validate everything first so that a bad action leaves every env untouched.
    for (let k = 0; k < n; k++) {
      if (active !== undefined && !active[k]) continue;
      const a = actions[k] as number;
      if (!(a === 0 || a === 1 || a === 2 || a === 3)) throw new InvalidActionError(a, k);
      if (this.neverReset > 0 && !(states[k] as LabyrinthState).ready) {
        throw new LabyrinthNotResetError(`LabyrinthVectorEnv slot ${k}`);
      }
    }
    const { observations: obs, rewards, terminated, truncated } = this;
    for (let k = 0; k < n; k++) {
      if (active !== undefined && !active[k]) continue;
      const a = actions[k] as number;
      const s = states[k] as LabyrinthState;
      s.step(a);
      rewards[k] = s.reward;
      terminated[k] = s.terminated ? 1 : 0;
      truncated[k] = s.truncated ? 1 : 0;
      writePaperObservation(obs, k * PAPER_OBS_DIM, s.window, a, a, false);
    }
  }

  /** Agent positions as [x, y] = [col, row] per env, in a reused buffer. */
  positions(): Int32Array {
    const p = this.positionBuffer;
    for (let k = 0; k < this.numEnvs; k++) {
      const s = this.states[k] as LabyrinthState;
      p[2 * k] = s.col;
      p[2 * k + 1] = s.row;
    }
    return p;
  }
}
