/**
 * The gradient diagnosis of the recurrent POPGym SparseNet (issue 19): the pool moments of its
 * per-episode gradients, as {@link DiagnosisMoments} for the report.
 *
 * A pool sample is one episode: one env's trajectory from reset on a fresh maze, with actions
 * sampled from the checkpoint's policy, drawn from the diagnosis's own streams (never the
 * trainer's). Units are the W neurons (one layer), each with its own parameters (policyA, policyB,
 * neuronKeys). The kinds and their scale are documented in recurrentEpisode.ts and the README.
 */
import type { SequenceBatch } from "../recurrent/batch.js";
import { RecurrentConfigError } from "../recurrent/params.js";
import { allocTrace, type CoreTrace } from "../recurrent/sparseCore.js";
import { coreSizes } from "../recurrent/sparseMaps.js";
import type { RolloutMaps, SparseNetPolicy } from "../recurrent/sparsenet.js";
import type { LabyrinthEnvFactory, PopgymTrainOptions } from "../reinforce/options.js";
import { collectRollout, type PolicyStepper, type VectorLabyrinth } from "../reinforce/rollout.js";
import { POPGYM_DIAGNOSE_STREAMS, trainerStreams } from "../streams.js";
import { PoolMomentAccumulator } from "./poolMoments.js";
import {
  createEpisodeContext,
  envsOf,
  episodeGradients,
  RECURRENT_NORMALISED_KINDS,
  RECURRENT_RAW_KINDS,
  unitSizes,
  validReturns,
} from "./recurrentEpisode.js";
import type { DiagnosisMoments } from "./types.js";

/** The paper's episodes per pool: see the README ("Cost") for what it buys and costs. */
export const DEFAULT_RECURRENT_POOL = 400;

/** What the diagnosis needs of a run's settings (a resolved PopgymTrainOptions has all of it). */
export type RecurrentRunSettings = Pick<
  PopgymTrainOptions,
  | "env"
  | "mazeDims"
  | "mazeGenerator"
  | "numEnvs"
  | "gamma"
  | "entropyCoef"
  | "exploreRewardZeroProb"
  | "thetaRho"
  | "sgMode"
  | "seed"
> & {
  readonly episodeLength: number;
  readonly rolloutLength: number;
  /** Builds the labyrinths (e.g. (spec) => new LabyrinthVectorEnv(spec) from @sgprop/popgym). */
  readonly envFactory: LabyrinthEnvFactory;
};

export interface RecurrentDiagnosisOptions {
  /** Episodes in the pool (default {@link DEFAULT_RECURRENT_POOL}). */
  readonly episodes?: number;
  /** Seed of the diagnosis's own streams (default: the run's seed). */
  readonly seed?: number;
  /**
   * "raw" (default; the choice): unnormalised discounted returns, so that episodes are
   * independent samples. "pool": returns standardised with the pool's mean and std (fixed
   * constants, so still independent), the scale the trainer's normalised returns and its SG
   * predictors have.
   */
  readonly returns?: "raw" | "pool";
  /** Called after each episode's gradients (done, total) and once per rollout chunk with phase "rollout". */
  readonly onProgress?: (phase: "rollout" | "gradients", done: number, total: number) => void;
  /** Names of the pool's streams (default POPGYM_DIAGNOSE_STREAMS; `--during-training` names them by batch). */
  readonly streams?: Record<keyof typeof POPGYM_DIAGNOSE_STREAMS, string>;
}

/** The rollout stepper of the diagnosis (the trainer's is not shared: its trace is the trainer's). */
class Stepper implements PolicyStepper {
  private maps: RolloutMaps | undefined;
  private trace: CoreTrace | undefined;
  private steps = 0;
  private numEnvs = 0;
  constructor(private readonly policy: SparseNetPolicy) {}
  begin(numEnvs: number, maxSteps: number): void {
    this.maps = this.policy.rolloutMaps();
    this.trace = allocTrace(coreSizes(this.policy.dims), numEnvs * maxSteps);
    this.steps = 0;
    this.numEnvs = numEnvs;
  }
  act(obs: Float32Array, starts: Float32Array): Float32Array {
    const b = this.numEnvs;
    const d = this.policy.dims;
    const t = this.steps++;
    const trace = this.trace as CoreTrace;
    const hPrev = t === 0 ? this.policy.zeroState(b) : trace.h;
    return this.policy.step(
      this.maps as RolloutMaps,
      hPrev,
      t === 0 ? 0 : (t - 1) * b * d.W * d.q,
      starts,
      obs,
      trace,
      t * b,
    );
  }
  end(): void {
    this.maps = undefined;
    this.trace = undefined;
  }
}

/**
 * Rolls out `episodes` episodes in chunks of the trainer's numEnvs (so every episode sits in a
 * batch like the trainer's, including the invalid tail after it ends), each env reset with a
 * fresh maze seed from the diagnosis's own stream.
 */
function rolloutPool(
  policy: SparseNetPolicy,
  run: RecurrentRunSettings,
  episodes: number,
  seed: number,
  onProgress: RecurrentDiagnosisOptions["onProgress"],
  names: Record<keyof typeof POPGYM_DIAGNOSE_STREAMS, string> = POPGYM_DIAGNOSE_STREAMS,
): SequenceBatch[] {
  const streams = trainerStreams(seed, names);
  const stepper = new Stepper(policy);
  const envs = new Map<number, VectorLabyrinth>();
  const chunks: SequenceBatch[] = [];
  for (let done = 0; done < episodes; ) {
    const n = Math.min(run.numEnvs, episodes - done);
    let env = envs.get(n);
    if (env === undefined) {
      env = run.envFactory({
        kind: run.env,
        numEnvs: n,
        mazeDims: run.mazeDims,
        episodeLength: run.episodeLength,
        generator: run.mazeGenerator,
      });
      envs.set(n, env);
    }
    // 31-bit seeds: the reference maze generator takes 32-bit ones.
    const seeds = Array.from({ length: n }, () => streams.mazes.integer(0, 2 ** 31 - 1));
    const roll = collectRollout(
      env,
      stepper,
      seeds,
      run.rolloutLength,
      streams.actions,
      run.env === "explore"
        ? {
            zeroProb: run.exploreRewardZeroProb,
            episodeLength: run.episodeLength,
            rng: streams.exploreRewards,
          }
        : undefined,
    );
    chunks.push(roll.batch);
    done += n;
    onProgress?.("rollout", done, episodes);
  }
  return chunks;
}

function validCount(b: SequenceBatch): number {
  let n = 0;
  for (let k = 0; k < b.valid.length; k++) if (b.valid[k]) n++;
  return n;
}

/**
 * The pool moments of the recurrent SparseNet's per-episode gradients at the given parameters and
 * base theta (the trainer's per-neuron theta; its temporal schedule is applied as in training).
 * Returns unnormalised-return moments by default (options.returns). Synchronous and CPU-bound:
 * see the README for its cost.
 */
export function diagnoseRecurrentSparseNet(
  policy: SparseNetPolicy,
  theta: ArrayLike<number>,
  run: RecurrentRunSettings,
  options: RecurrentDiagnosisOptions = {},
): DiagnosisMoments {
  const episodes = options.episodes ?? DEFAULT_RECURRENT_POOL;
  if (!Number.isSafeInteger(episodes) || episodes < 2)
    throw new RecurrentConfigError(`the diagnosis needs at least 2 episodes, got ${String(episodes)}`);
  const d = policy.dims;
  if (theta.length !== d.W)
    throw new RecurrentConfigError(`theta has ${theta.length} values, expected width ${d.W}`);
  const seed = options.seed ?? run.seed;
  const chunks = rolloutPool(policy, run, episodes, seed, options.onProgress, options.streams);
  // The loss normaliser: the pool's mean episode length (SPEC 5's masked mean over a batch of B
  // episodes divides by about B times it).
  const meanLength = chunks.reduce((a, c) => a + validCount(c), 0) / episodes;
  let returnShift = 0;
  let returnScale = 1;
  if (options.returns === "pool") {
    const all = chunks.flatMap((c) => validReturns(c, run.gamma));
    returnShift = all.reduce((a, r) => a + r, 0) / all.length;
    const variance = all.reduce((a, r) => a + (r - returnShift) ** 2, 0) / all.length;
    returnScale = Math.sqrt(variance) + 1e-8;
  }
  const ctx = createEpisodeContext(policy, theta, run, {
    lengthScale: meanLength,
    predictionScale: run.numEnvs,
    returnShift,
    returnScale,
  });
  const sizes = unitSizes(d);
  const raw = new PoolMomentAccumulator(RECURRENT_RAW_KINDS, sizes);
  const normalised = new PoolMomentAccumulator(RECURRENT_NORMALISED_KINDS, sizes);
  let done = 0;
  for (const chunk of chunks) {
    // Two episodes at a time: one per thread in every backward pass.
    for (let b = 0; b < chunk.numEnvs; b += 2) {
      for (const g of episodeGradients(ctx, envsOf(chunk, b, Math.min(b + 2, chunk.numEnvs)))) {
        raw.add(g.raw);
        normalised.add(g.normalised);
        options.onProgress?.("gradients", ++done, episodes);
      }
    }
  }
  const mode = run.sgMode === "positive_projection" ? "positive projection" : "prediction";
  return {
    raw: raw.moments(),
    normalised: normalised.moments(),
    layers: [{ name: "core", from: 0, to: d.W }],
    liveTheta: Float64Array.from(theta),
    current: [0, 0, 0, 1],
    trainerBatch: run.numEnvs,
    sampleDescription:
      `one episode (a fresh ${run.env} maze ${run.mazeDims.join("x")}, ${run.rolloutLength} steps, actions from the checkpoint's policy); ` +
      `per-episode loss = REINFORCE row losses summed over its valid steps / ${meanLength.toFixed(2)} (the pool's mean episode length), ` +
      `${options.returns === "pool" ? "returns standardised with the pool's mean and std" : "unnormalised returns"}; ` +
      `SG predictions x ${run.numEnvs} (the trainer's batch); ${mode} mode, temporal theta schedule (rho ${run.thetaRho}); ` +
      `normalised space: per-step fields at H_t unit-normalised over valid steps, summed / ${meanLength.toFixed(2)}`,
  };
}
