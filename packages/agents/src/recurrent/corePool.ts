/**
 * The neuron core's phases on two threads: given the parameters, every row (SG predictions, SG
 * loss, eq. 3 sums), every environment's trajectory (BPTT) and every env of a rollout step is
 * independent, so each phase runs as two fixed halves whose additive results are combined on this
 * thread in a fixed order (half 0 first). The kernel runtime of @sgprop/kernels runs the halves as
 * one call of width 2 on this thread and its helper thread: which thread computes a half changes
 * no bit, and `SGPROP_CORE_THREADS=1` (or a phase below the hand-off size) keeps both here.
 *
 * The `start*` functions queue their halves for the helper thread and return a pending result, so
 * that this thread can run tfjs work (actor, gradient assembly) meanwhile; `finish()` computes the
 * halves the helper has not taken and combines. The `*Parallel` functions return when done.
 */
import {
  type BackwardOutputs,
  type BackwardSums,
  backwardHalves,
  backwardTwoEnvs,
  type CoreBackwardResult,
  type CoreMixing,
} from "./coreBackward.js";
import {
  type EstimatorSums,
  type SgLossResult,
  startEstimatorHalves,
  startSgLossHalves,
} from "./coreSums.js";
import { type RolloutWeights, rolloutStep } from "./rolloutCore.js";
import {
  type CoreMaps,
  type CoreSizes,
  type CoreTrace,
  type EmbeddingTerm,
  predictionSplit,
  sharedFloat32,
  startPredictionHalves,
} from "./sparseCore.js";

/** Below this many rows x neurons a phase is not worth a thread hand-off. */
const MIN_PARALLEL_WORK = 4096;
/** The same for one rollout step (a hand-off per step costs tens of microseconds). */
const MIN_ROLLOUT_WORK = 2048;

/** Core work under way: `finish()` completes it and returns the result. */
export interface PendingCore<T> {
  finish(): T;
}

/** corePredictions with the rows split between this thread and the helper (same values). */
export function predictionsParallel(
  s: CoreSizes,
  sgParT: Float32Array,
  sgBias: Float32Array,
  sgExt: Float32Array | EmbeddingTerm,
  trace: CoreTrace,
): Float32Array {
  return startPredictions(s, sgParT, sgBias, sgExt, trace).finish();
}

/**
 * corePredictions started on the helper thread, so that this thread can do other work meanwhile;
 * `finish()` returns the predictions.
 */
export function startPredictions(
  s: CoreSizes,
  sgParT: Float32Array,
  sgBias: Float32Array,
  sgExt: Float32Array | EmbeddingTerm,
  trace: CoreTrace,
): PendingCore<Float32Array> {
  const out = sharedFloat32(trace.rows * s.W * s.q);
  const mid = predictionSplit(trace.rows);
  const parallel = (trace.rows - mid) * s.W >= MIN_PARALLEL_WORK;
  const finish = startPredictionHalves(s, sgParT, sgBias, sgExt, trace, out, mid, parallel);
  return {
    finish: () => {
      finish();
      return out;
    },
  };
}

/** coreEstimatorSums with its two fixed halves on two threads (identical numbers). */
export function estimatorSumsParallel(
  s: CoreSizes,
  trace: CoreTrace,
  g: Float32Array,
  sub: Float32Array,
  rows: Int32Array,
  emb: Float32Array,
): EstimatorSums {
  return startEstimatorSums(s, trace, g, sub, rows, emb).finish();
}

/** coreEstimatorSums started now; `finish()` completes and combines the halves (identical numbers). */
export function startEstimatorSums(
  s: CoreSizes,
  trace: CoreTrace,
  g: Float32Array,
  sub: Float32Array,
  rows: Int32Array,
  emb: Float32Array,
): PendingCore<EstimatorSums> {
  const parallel = (rows.length - Math.floor(rows.length / 2)) * s.W >= MIN_PARALLEL_WORK;
  return { finish: startEstimatorHalves(s, trace, g, sub, rows, emb, parallel) };
}

/** coreBackward with its two fixed groups of environments on two threads (identical numbers). */
export function backwardParallel(
  s: CoreSizes,
  maps: CoreMaps,
  trace: CoreTrace,
  dActor: Float32Array,
  keep: Float32Array,
  numSteps: number,
  numEnvs: number,
  mixing?: CoreMixing,
  embedding?: EmbeddingTerm,
): CoreBackwardResult {
  const parallel = numSteps * (numEnvs - Math.floor(numEnvs / 2)) * s.W >= MIN_PARALLEL_WORK;
  return backwardHalves(s, maps, trace, dActor, keep, numSteps, numEnvs, mixing, embedding, parallel);
}

/** backwardTwoEnvs (each env's sums apart) on two threads when the work is large enough. */
export function backwardTwoEnvsParallel(
  s: CoreSizes,
  maps: CoreMaps,
  trace: CoreTrace,
  dActor: Float32Array,
  keep: Float32Array,
  numSteps: number,
  mixing?: CoreMixing,
  embedding?: EmbeddingTerm,
): { out: BackwardOutputs; env1: BackwardSums } {
  const parallel = numSteps * s.W >= MIN_PARALLEL_WORK;
  return backwardTwoEnvs(s, maps, trace, dActor, keep, numSteps, mixing, embedding, parallel);
}

/** coreSgLoss with its two fixed halves of the valid rows on two threads (identical numbers). */
export function sgLossParallel(
  s: CoreSizes,
  trace: CoreTrace,
  pred: Float32Array,
  mixed: Float32Array,
  valid: ArrayLike<number>,
  emb?: Float32Array,
): SgLossResult {
  return startSgLoss(s, trace, pred, mixed, valid, emb).finish();
}

/** coreSgLoss started now; `finish()` completes and combines its halves (identical numbers). */
export function startSgLoss(
  s: CoreSizes,
  trace: CoreTrace,
  pred: Float32Array,
  mixed: Float32Array,
  valid: ArrayLike<number>,
  emb?: Float32Array,
): PendingCore<SgLossResult> {
  let n = 0;
  for (let r = 0; r < trace.rows; r++) if (valid[r]) n++;
  const parallel = n * s.W >= MIN_PARALLEL_WORK;
  return { finish: startSgLossHalves(s, trace, pred, mixed, valid, emb, parallel) };
}

/** A rollout's maps and weights (read once per batch). */
export interface RolloutHandle {
  readonly maps: CoreMaps;
  readonly weights: RolloutWeights;
}

/** Registers a batch's rollout weights. */
export function rolloutHandle(maps: CoreMaps, weights: RolloutWeights): RolloutHandle {
  return { maps, weights };
}

/**
 * One rollout step for n envs (as rolloutStep), with the envs in two fixed halves on two threads
 * when the step is large enough: every env's numbers are the same either way.
 */
export function rolloutStepParallel(
  s: CoreSizes,
  handle: RolloutHandle,
  hPrev: Float32Array,
  hPrevOffset: number,
  keep: Float32Array,
  obs: Float32Array,
  trace: CoreTrace,
  row0: number,
  n: number,
): Float32Array {
  const parallel = n * s.W >= MIN_ROLLOUT_WORK;
  return rolloutStep(s, handle.maps, handle.weights, hPrev, hPrevOffset, keep, obs, trace, row0, n, parallel);
}
