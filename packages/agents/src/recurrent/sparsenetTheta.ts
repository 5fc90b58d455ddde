import { type PendingCore, startEstimatorSums } from "./corePool.js";
import type { CoreSizes, CoreTrace } from "./sparseCore.js";

/** Threshold on V + B^2 below which the previous theta is kept (recurrent net, golden README 6). */
export const RECURRENT_THETA_EPS = 1e-12;

/**
 * Eq. 3 from per-neuron sums over N rows (see coreEstimatorSums): sum ||d_n||^2, sum <w_n, d_n>,
 * ||sum d_n||^2 and <sum w_n, sum d_n> (every parameter part included).
 */
export function thetaFromSums(
  n: number,
  sumDd: ArrayLike<number>,
  sumWd: ArrayLike<number>,
  barDd: ArrayLike<number>,
  barWd: ArrayLike<number>,
  thetaPrev: ArrayLike<number>,
  eps = RECURRENT_THETA_EPS,
): Float64Array {
  const out = Float64Array.from(thetaPrev as ArrayLike<number>);
  if (n <= 1) return out;
  for (let i = 0; i < out.length; i++) {
    const meanDd = (sumDd[i] as number) / n;
    const meanWd = (sumWd[i] as number) / n;
    const dBarSq = (barDd[i] as number) / (n * n);
    const wdBar = (barWd[i] as number) / (n * n);
    const v = Math.max(0, (meanDd - dBarSq) / (n - 1));
    const c = (meanWd - wdBar) / (n - 1);
    const b2 = Math.max(0, dBarSq - v);
    if (v + b2 > eps) out[i] = Math.min(1, Math.max(0, 1 + c / (v + b2)));
  }
  return out;
}

/**
 * Adaptive mixing weight, eq. 3 of the paper (SPEC 4.5, golden README 6), per neuron from the
 * valid rows `rows` of a trace. w_n is the neuron's own-parameter gradient (A, b, keys) induced by
 * the unit-normalised true gradient g_n, hat w_n the one induced by the unit-normalised substitute
 * s_n, d_n = hat w_n - w_n, bars for means over the N rows:
 *   V  = max(0, (mean ||d_n||^2 - ||dbar||^2) / (N - 1))
 *   C  = (mean <w_n, d_n> - <wbar, dbar>) / (N - 1)
 *   B2 = max(0, ||dbar||^2 - V)
 *   theta_batch = clamp(1 + C / (V + B2), 0, 1), or thetaPrev where V + B2 <= eps (or N <= 1).
 * Inner products use closed forms (no per-sample gradient tensors), on the WebAssembly kernels. A
 * neuron's input is split into its parent part and, for input neurons, the embedding rows
 * `emb` [R][E] (shared memory), so the zero embedding input of the other neurons costs nothing.
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
