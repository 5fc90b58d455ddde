import * as tf from "@tensorflow/tfjs-core";
import type { SparseNetDims } from "./sparsenet.js";

/** Threshold on V + B^2 below which the previous theta is kept (recurrent net, golden README 6). */
export const RECURRENT_THETA_EPS = 1e-12;

/** Per-sample inputs of the estimator for the N valid (t, env) rows, neuron-major. */
export interface RecurrentEstimatorInputs {
  /** Received (true) gradients g_n [W, N, q]. */
  readonly g: tf.Tensor3D;
  /** Substitutes s_n [W, N, q] (prediction or projection). */
  readonly s: tf.Tensor3D;
  /** Routing weights [W, N, M]. */
  readonly alpha: tf.Tensor3D;
  /** Slot outputs [W, N, M, q]. */
  readonly y: tf.Tensor4D;
  /** Parent part of the inputs [W, N, P*q]. */
  readonly uPar: tf.Tensor3D;
  /** Embedding rows [N, E]; the input part of neurons 0..Ni-1 (zero for the others). */
  readonly uEmb: tf.Tensor2D;
}

function unit(x: tf.Tensor3D): tf.Tensor3D {
  return tf.div(x, tf.maximum(tf.sqrt(tf.sum(tf.square(x), 2, true)), 1e-12)) as tf.Tensor3D;
}

/**
 * Closed-form per-sample pieces for the gradient of <x_n, out(u_n)> with respect to a neuron's own
 * parameters: the b-part t_{n,s} = alpha_s x_n (1 - y_s^2) and the key scores
 * alpha_s (<x_n, y_s> - sum_r alpha_r <x_n, y_r>) / sqrt(D); the A-part is t_{n,s} u_n^T and the key
 * part the key score times u_n. Returns [W, N, M*q + M] (t then key scores).
 */
function paramGradientFactors(
  x: tf.Tensor3D,
  alpha: tf.Tensor3D,
  y: tf.Tensor4D,
  d: SparseNetDims,
): tf.Tensor3D {
  const [w, n] = x.shape;
  const x4 = tf.expandDims(x, 2);
  const t = tf.mul(tf.mul(tf.expandDims(alpha, 3), x4), tf.sub(1, tf.square(y)));
  const xy = tf.sum(tf.mul(x4, y), 3);
  const key = tf.mul(tf.mul(alpha, tf.sub(xy, tf.sum(tf.mul(alpha, xy), 2, true))), 1 / Math.sqrt(d.D));
  return tf.concat([tf.reshape(t, [w, n, d.Mq]), key], 2) as tf.Tensor3D;
}

/**
 * Sum over the full input u_n = [uPar_n, e_n (input neurons)] of (X^T U)(Y^T U), per neuron:
 * sum_{c,k} (sum_n X[n,c] u_n[k]) (sum_n Y[n,c] u_n[k]), for X, Y [W, N, C].
 */
function outerProductInner(
  x: tf.Tensor3D,
  yT: tf.Tensor3D,
  inp: RecurrentEstimatorInputs,
  d: SparseNetDims,
): tf.Tensor1D {
  const [w, n, c] = x.shape;
  const gx = tf.matMul(x, inp.uPar, true, false);
  const gy = x === yT ? gx : tf.matMul(yT, inp.uPar, true, false);
  let total = tf.sum(tf.mul(gx, gy), [1, 2]);
  const rows = (t: tf.Tensor3D) =>
    tf.reshape(tf.transpose(tf.slice(t, [0, 0, 0], [d.Ni, n, c]), [1, 0, 2]), [n, d.Ni * c]) as tf.Tensor2D;
  const ex = tf.reshape(tf.matMul(inp.uEmb, rows(x), true, false), [d.E, d.Ni, c]);
  const ey = x === yT ? ex : tf.reshape(tf.matMul(inp.uEmb, rows(yT), true, false), [d.E, d.Ni, c]);
  let embPart = tf.sum(tf.mul(ex, ey), [0, 2]);
  if (d.Ni < w) embPart = tf.concat([embPart, tf.zeros([w - d.Ni])]);
  total = tf.add(total, embPart);
  return total as tf.Tensor1D;
}

/**
 * Adaptive mixing weight, eq. 3 of the paper (SPEC 4.5, golden README 6), per neuron from N valid
 * rows. w_n is the neuron's own-parameter gradient induced by the unit-normalised true gradient,
 * hat w_n the one induced by the unit-normalised substitute, d_n = hat w_n - w_n:
 *   V  = max(0, (mean ||d_n||^2 - ||dbar||^2) / (N - 1))
 *   C  = (mean <w_n, d_n> - <wbar, dbar>) / (N - 1)
 *   B2 = max(0, ||dbar||^2 - V)
 *   theta_batch = clamp(1 + C / (V + B2), 0, 1), or thetaPrev where V + B2 <= eps (or N <= 1).
 * Inner products use the closed forms (no per-sample gradient tensors); the input of neuron i is
 * split into its parent part and, for input neurons, the embedding, so the zero part costs nothing.
 */
export function estimateRecurrentThetaBatch(
  inp: RecurrentEstimatorInputs,
  d: SparseNetDims,
  thetaPrev: ArrayLike<number>,
  eps = RECURRENT_THETA_EPS,
): Float64Array {
  const w = d.W;
  const n = inp.g.shape[1];
  const out = Float64Array.from(thetaPrev as ArrayLike<number>);
  if (n <= 1) return out;
  const sums = tf.tidy(() => {
    const xw = paramGradientFactors(unit(inp.g), inp.alpha, inp.y, d);
    const xs = paramGradientFactors(unit(inp.s), inp.alpha, inp.y, d);
    const xd = tf.sub(xs, xw) as tf.Tensor3D;
    // ||u_n||^2 per neuron and row (embedding part only for input neurons).
    let uSq = tf.sum(tf.square(inp.uPar), 2);
    const eSq = tf.sum(tf.square(inp.uEmb), 1);
    const inputMask = tf.reshape(tf.concat([tf.ones([d.Ni]), tf.zeros([w - d.Ni])]), [w, 1]);
    uSq = tf.add(uSq, tf.mul(inputMask, tf.reshape(eSq, [1, n])));
    const tPart = (x: tf.Tensor3D) => tf.slice(x, [0, 0, 0], [w, n, d.Mq]);
    // Per sample: the outer-product parts scale with ||u_n||^2, the b-part does not.
    const dd = tf.add(tf.mul(tf.sum(tf.square(xd), 2), uSq), tf.sum(tf.square(tPart(xd)), 2));
    const wd = tf.add(tf.mul(tf.sum(tf.mul(xw, xd), 2), uSq), tf.sum(tf.mul(tPart(xw), tPart(xd)), 2));
    const meanDd = tf.mean(dd, 1);
    const meanWd = tf.mean(wd, 1);
    // Batch means: outer-product parts via X^T U / N, the b-part via the mean of t.
    const n2 = n * n;
    const tdBar = tf.mean(tPart(xd), 1);
    const twBar = tf.mean(tPart(xw), 1);
    const dBarSq = tf.add(tf.div(outerProductInner(xd, xd, inp, d), n2), tf.sum(tf.square(tdBar), 1));
    const wdBar = tf.add(tf.div(outerProductInner(xw, xd, inp, d), n2), tf.sum(tf.mul(twBar, tdBar), 1));
    return tf.stack([meanDd, meanWd, dBarSq, wdBar]);
  });
  const data = sums.dataSync();
  sums.dispose();
  for (let i = 0; i < w; i++) {
    const meanDd = data[i] as number;
    const meanWd = data[w + i] as number;
    const dBarSq = data[2 * w + i] as number;
    const wdBar = data[3 * w + i] as number;
    const v = Math.max(0, (meanDd - dBarSq) / (n - 1));
    const c = (meanWd - wdBar) / (n - 1);
    const b2 = Math.max(0, dBarSq - v);
    if (v + b2 > eps) out[i] = Math.min(1, Math.max(0, 1 + c / (v + b2)));
  }
  return out;
}

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
