/**
 * Eq. 3 for the recurrent SparseNet: the moments come from its WebAssembly core (half of them on
 * the core worker), the equation itself from sgprop/thetaEstimator.ts.
 */
import { RECURRENT_THETA_EPS, thetaFromSums } from "../sgprop/thetaEstimator.js";
import { type PendingCore, startEstimatorSums } from "./corePool.js";
import type { CoreSizes, CoreTrace } from "./sparseCore.js";

/**
 * Adaptive mixing weight (eq. 3, sgprop/thetaEstimator.ts) per neuron from the valid rows `rows`
 * of a trace: g the true and `sub` the substitute gradients at H_t. Inner products use closed
 * forms (no per-sample gradient tensors), on the WebAssembly kernels. A neuron's input is split
 * into its parent part and, for input neurons, the embedding rows `emb` [R][E] (shared memory), so
 * the zero embedding input of the other neurons costs nothing.
 */
export function recurrentThetaBatch(
  s: CoreSizes,
  trace: CoreTrace,
  g: Float32Array,
  sub: Float32Array,
  rows: Int32Array,
  emb: Float32Array,
  thetaPrev: ArrayLike<number>,
  eps = RECURRENT_THETA_EPS,
): Float64Array {
  return startRecurrentThetaBatch(s, trace, g, sub, rows, emb, thetaPrev, eps).finish();
}

/** recurrentThetaBatch with half of its sums started on the core worker now (same numbers). */
export function startRecurrentThetaBatch(
  s: CoreSizes,
  trace: CoreTrace,
  g: Float32Array,
  sub: Float32Array,
  rows: Int32Array,
  emb: Float32Array,
  thetaPrev: ArrayLike<number>,
  eps = RECURRENT_THETA_EPS,
): PendingCore<Float64Array> {
  const pending = startEstimatorSums(s, trace, g, sub, rows, emb);
  return {
    finish: () => {
      const sums = pending.finish();
      return thetaFromSums(sums.n, sums.sumDd, sums.sumWd, sums.barDd, sums.barWd, thetaPrev, eps);
    },
  };
}
