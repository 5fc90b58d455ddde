/**
 * The adaptive mixing weight of eq. 3 (SPEC 4.5, Appendix H.2 of the paper, golden README
 * section 6): the one place of the equation. For one neuron and a batch of N samples, let w_n be
 * the gradient of the neuron's own parameters (A, b, keys) induced by the unit-normalised received
 * gradient g_n, what_n the one induced by the unit-normalised substitute s_n, d_n = what_n - w_n,
 * and bars batch means. Then
 *   V  = max(0, (mean ||d_n||^2 - ||dbar||^2) / (N - 1))     variance of the mean of d
 *   C  = (mean <w_n, d_n> - <wbar, dbar>) / (N - 1)          covariance of the means
 *   B2 = max(0, ||dbar||^2 - V)                              squared bias of the synthetic part
 *   thetaBatch = clamp(1 + C / (V + B2), 0, 1), or thetaPrev where V + B2 <= eps (or N <= 1),
 * the minimiser over theta of the MSE of theta wbar + (1 - theta) whatbar against E[w]. The
 * momentum update theta <- mu theta + (1 - mu) thetaBatch is the callers'.
 *
 * {@link thetaFromMoments} (host numbers) and {@link thetaFromMomentsTensor} (tfjs) are the
 * equation from the four moments; the rest of the file computes the moments in closed form
 * without per-sample gradient tensors: {@link estimateThetaBatch} for a layer of neurons given as
 * tensors (the feed-forward SparseNet's tfjs path), {@link thetaFromSums} for the sums the
 * recurrent SparseNet's kernels return (recurrent/sparsenetTheta.ts). The kernel paths compute the
 * same moments in C (kernels/thetaEstimator.c for the feed-forward net, the recurrent core's
 * estimator sums for the recurrent one).
 */
import * as tf from "@tensorflow/tfjs-core";
import { perNeuronOuter } from "../ops/perNeuron.js";

/** Threshold on V + B^2 below which the previous theta is kept (recurrent net, golden README 6). */
export const RECURRENT_THETA_EPS = 1e-12;

/**
 * Eq. 3 for one neuron from its moments over n samples: meanDd = mean ||d_n||^2, meanWd =
 * mean <w_n, d_n>, dbarSq = ||dbar||^2, wdbar = <wbar, dbar>. Returns thetaBatch, or thetaPrev
 * where V + B2 <= eps. Callers handle n <= 1 (no estimate) before.
 */
export function thetaFromMoments(
  n: number,
  meanDd: number,
  meanWd: number,
  dbarSq: number,
  wdbar: number,
  thetaPrev: number,
  eps: number,
): number {
  const v = Math.max(0, (meanDd - dbarSq) / (n - 1));
  const c = (meanWd - wdbar) / (n - 1);
  const b2 = Math.max(0, dbarSq - v);
  const denom = v + b2;
  return denom > eps ? Math.min(1, Math.max(0, 1 + c / denom)) : thetaPrev;
}

/** {@link thetaFromMoments} on tensors of moments (one entry per neuron, same shapes as thetaPrev). */
export function thetaFromMomentsTensor(
  n: number,
  meanDd: tf.Tensor,
  meanWd: tf.Tensor,
  dbarSq: tf.Tensor,
  wdbar: tf.Tensor,
  thetaPrev: tf.Tensor,
  eps: number,
): tf.Tensor {
  return tf.tidy(() => {
    const v = tf.relu(tf.div(tf.sub(meanDd, dbarSq), n - 1));
    const c = tf.div(tf.sub(meanWd, wdbar), n - 1);
    const b2 = tf.relu(tf.sub(dbarSq, v));
    const denom = tf.add(v, b2);
    const ok = tf.greater(denom, eps);
    const safe = tf.where(ok, denom, tf.onesLike(denom));
    const est = tf.clipByValue(tf.add(1, tf.div(c, safe)), 0, 1);
    return tf.where(ok, est, thetaPrev);
  });
}

/**
 * Eq. 3 from per-neuron sums over N rows (see the recurrent core's estimator sums): sum ||d_n||^2,
 * sum <w_n, d_n>, ||sum d_n||^2 and <sum w_n, sum d_n> (every parameter part included).
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
    out[i] = thetaFromMoments(
      n,
      (sumDd[i] as number) / n,
      (sumWd[i] as number) / n,
      (barDd[i] as number) / (n * n),
      (barWd[i] as number) / (n * n),
      out[i] as number,
      eps,
    );
  }
  return out;
}

/** Inputs of {@link estimateThetaBatch}; N samples, W neurons, q outputs, D inputs, M slots. */
export interface ThetaEstimatorInputs {
  /** Received (true) gradient at each neuron's output, [N, W, q]. */
  readonly g: tf.Tensor;
  /** Synthetic substitute (prediction or projection) at the same place, [N, W, q]. */
  readonly s: tf.Tensor;
  /** Each neuron's input, [N, W, D]. */
  readonly u: tf.Tensor;
  /** Routing weights, [N, W, M]. */
  readonly alpha: tf.Tensor;
  /** Slot outputs tanh(A u + b), [N, W, M, q]. */
  readonly y: tf.Tensor;
  /** The neuron's current theta, returned where the estimate is undefined, [W]. */
  readonly thetaPrev: tf.Tensor;
  /** Threshold on V + B^2 below which thetaPrev is kept (1e-6 bandit, 1e-12 recurrent). */
  readonly eps: number;
}

/**
 * Per-sample parameter gradients of one neuron induced by a unit output gradient e_n, in the
 * factored form the closed forms need: the A and key parts are outer products G_n (x) u_n with
 * G_n = [kappa_n / sqrt(D) | t_n] of length M + M q, and the b part is t_n (length M q).
 * t_{n,s} = alpha_s e_n * (1 - y_s^2); kappa_{n,s} = alpha_s (<e_n, y_s> - sum_r alpha_r <e_n, y_r>).
 */
function factoredGradients(
  e: tf.Tensor,
  alpha: tf.Tensor,
  y: tf.Tensor,
  sqrtD: number,
): [tf.Tensor, tf.Tensor] {
  const [n, w, m, q] = y.shape as [number, number, number, number];
  const e4 = tf.expandDims(e, 2); // [N,W,1,q]
  const a4 = tf.expandDims(alpha, 3); // [N,W,M,1]
  const t = tf.reshape(tf.mul(tf.mul(a4, e4), tf.sub(1, tf.square(y))), [n, w, m * q]);
  const ey = tf.sum(tf.mul(e4, y), 3); // [N,W,M]
  const mean = tf.sum(tf.mul(alpha, ey), 2, true);
  const kappa = tf.mul(alpha, tf.sub(ey, mean));
  const G = tf.concat([tf.div(kappa, sqrtD), t], 2); // [N,W,M+Mq]
  return [G, t];
}

/** x / max(||x||, 1e-12) over the last axis. */
function unitRows(x: tf.Tensor): tf.Tensor {
  return tf.div(x, tf.maximum(tf.sqrt(tf.sum(tf.square(x), -1, true)), 1e-12));
}

/**
 * Eq. 3 (see the top of this file) for every neuron of a layer at once: g and s are the received
 * gradient and the substitute at the neurons' outputs, w_n and what_n the gradients they induce on
 * each neuron's keys, A and b (u constant) after normalising g_n and s_n to unit length.
 * No per-sample gradient tensors are built: with the factored form G_n (x) u_n, inner products are
 * <G_n, G'_n> ||u_n||^2 (+ the b parts), and the means are one batched matmul over neurons.
 * For the residual bandit layers the caller first multiplies g and s by 1 - tanh(out)^2.
 * Returns thetaBatch [W]; the momentum update theta <- mu theta + (1 - mu) thetaBatch is the caller's.
 */
export function estimateThetaBatch(inputs: ThetaEstimatorInputs): tf.Tensor1D {
  // On wasm and cpu the tensors live in host memory and the many small elementwise steps cost
  // more as separate kernels than as one JavaScript loop; the tensor version serves other backends.
  if (tf.getBackend() !== "tensorflow") return estimateThetaBatchHost(inputs);
  return estimateThetaBatchTensor(inputs);
}

/** {@link estimateThetaBatch} written with tensor ops only (any backend; the reference form). */
export function estimateThetaBatchTensor(inputs: ThetaEstimatorInputs): tf.Tensor1D {
  const { g, s, u, alpha, y, thetaPrev, eps } = inputs;
  const n = g.shape[0] as number;
  const w = g.shape[1] as number;
  const d = u.shape[2] as number;
  if (n <= 1) return tf.clone(thetaPrev) as tf.Tensor1D;
  return tf.tidy(() => {
    const gh = unitRows(g);
    const sh = unitRows(s);
    const sqrtD = Math.sqrt(d);
    const [Gw, Tw] = factoredGradients(gh, alpha, y, sqrtD);
    // d_n is linear in the output gradient, so it is the gradient induced by sh - gh.
    const [Gd, Td] = factoredGradients(tf.sub(sh, gh), alpha, y, sqrtD);
    const uu = tf.sum(tf.square(u), 2); // [N,W]
    const dd = tf.add(tf.mul(tf.sum(tf.square(Gd), 2), uu), tf.sum(tf.square(Td), 2));
    const wd = tf.add(tf.mul(tf.sum(tf.mul(Gw, Gd), 2), uu), tf.sum(tf.mul(Tw, Td), 2));
    const meanDD = tf.mean(dd, 0); // [W]
    const meanWD = tf.mean(wd, 0);
    // Means of the outer products: [W, 2(M+Mq), D] = (1/N) sum_n [Gw; Gd]_n^T u_n.
    const outer = tf.div(perNeuronOuter(tf.concat([Gw, Gd], 2), u), n); // [W, 2K, D]
    const k = Gw.shape[2] as number;
    const wbarA = tf.slice(outer, [0, 0, 0], [w, k, d]);
    const dbarA = tf.slice(outer, [0, k, 0], [w, k, d]);
    const wbarB = tf.mean(Tw, 0); // [W, Mq]
    const dbarB = tf.mean(Td, 0);
    const dbarSq = tf.add(tf.sum(tf.square(dbarA), [1, 2]), tf.sum(tf.square(dbarB), 1));
    const wdbar = tf.add(tf.sum(tf.mul(wbarA, dbarA), [1, 2]), tf.sum(tf.mul(wbarB, dbarB), 1));
    return thetaFromMomentsTensor(n, meanDD, meanWD, dbarSq, wdbar, thetaPrev, eps) as tf.Tensor1D;
  });
}

/**
 * {@link estimateThetaBatch} with the per-sample closed forms evaluated in one JavaScript pass
 * (float64 accumulation) and only the batch means of the outer products G_n (x) u_n computed as a
 * per-neuron contraction on the backend.
 */
export function estimateThetaBatchHost(inputs: ThetaEstimatorInputs): tf.Tensor1D {
  const { u, thetaPrev, eps } = inputs;
  const [n, w, q] = inputs.g.shape as [number, number, number];
  const m = inputs.alpha.shape[2] as number;
  const d = u.shape[2] as number;
  if (n <= 1) return tf.clone(thetaPrev) as tf.Tensor1D;
  const g = inputs.g.dataSync();
  const s = inputs.s.dataSync();
  const alpha = inputs.alpha.dataSync();
  const y = inputs.y.dataSync();
  const uData = u.dataSync();
  const prev = thetaPrev.dataSync();
  const k = m + m * q;
  const invSqrtD = 1 / Math.sqrt(d);
  const both = new Float32Array(n * w * 2 * k); // [N, W, 2K]: Gw then Gd
  const meanDD = new Float64Array(w);
  const meanWD = new Float64Array(w);
  const sumTw = new Float64Array(w * m * q);
  const sumTd = new Float64Array(w * m * q);
  const gh = new Float64Array(q);
  const dh = new Float64Array(q);
  const eyW = new Float64Array(m);
  const eyD = new Float64Array(m);
  for (let row = 0; row < n; row++) {
    for (let i = 0; i < w; i++) {
      const gi = (row * w + i) * q;
      let gn = 0;
      let sn = 0;
      for (let j = 0; j < q; j++) {
        gn += (g[gi + j] as number) ** 2;
        sn += (s[gi + j] as number) ** 2;
      }
      const gs = 1 / Math.max(Math.sqrt(gn), 1e-12);
      const ss = 1 / Math.max(Math.sqrt(sn), 1e-12);
      for (let j = 0; j < q; j++) {
        gh[j] = (g[gi + j] as number) * gs;
        dh[j] = (s[gi + j] as number) * ss - (gh[j] as number);
      }
      const ai = (row * w + i) * m;
      const yi = (row * w + i) * m * q;
      let mw = 0;
      let md = 0;
      for (let sl = 0; sl < m; sl++) {
        let ew = 0;
        let ed = 0;
        for (let j = 0; j < q; j++) {
          const yv = y[yi + sl * q + j] as number;
          ew += (gh[j] as number) * yv;
          ed += (dh[j] as number) * yv;
        }
        eyW[sl] = ew;
        eyD[sl] = ed;
        const a = alpha[ai + sl] as number;
        mw += a * ew;
        md += a * ed;
      }
      let uu = 0;
      const ui = (row * w + i) * d;
      for (let j = 0; j < d; j++) uu += (uData[ui + j] as number) ** 2;
      let gwGd = 0;
      let gdGd = 0;
      let twTd = 0;
      let tdTd = 0;
      const bw = (row * w + i) * 2 * k;
      const bd = bw + k;
      for (let sl = 0; sl < m; sl++) {
        const a = alpha[ai + sl] as number;
        const kw = a * ((eyW[sl] as number) - mw) * invSqrtD;
        const kd = a * ((eyD[sl] as number) - md) * invSqrtD;
        both[bw + sl] = kw;
        both[bd + sl] = kd;
        gwGd += kw * kd;
        gdGd += kd * kd;
        for (let j = 0; j < q; j++) {
          const c = a * (1 - (y[yi + sl * q + j] as number) ** 2);
          const tw = c * (gh[j] as number);
          const td = c * (dh[j] as number);
          both[bw + m + sl * q + j] = tw;
          both[bd + m + sl * q + j] = td;
          twTd += tw * td;
          tdTd += td * td;
          const bi = (i * m + sl) * q + j;
          sumTw[bi] = (sumTw[bi] as number) + tw;
          sumTd[bi] = (sumTd[bi] as number) + td;
        }
      }
      // ||G||^2 ||u||^2 for the A and key parts, plus the b part ||t||^2.
      meanDD[i] = (meanDD[i] as number) + (gdGd + tdTd) * uu + tdTd;
      meanWD[i] = (meanWD[i] as number) + (gwGd + twTd) * uu + twTd;
    }
  }
  const outer = tf.tidy(() => perNeuronOuter(tf.tensor3d(both, [n, w, 2 * k]), u));
  const o = outer.dataSync(); // [W, 2K, D]: sums over n of Gw (x) u, then Gd (x) u
  outer.dispose();
  const result = new Float32Array(w);
  for (let i = 0; i < w; i++) {
    let dbarSq = 0;
    let wdbar = 0;
    const base = i * 2 * k * d;
    for (let e = 0; e < k * d; e++) {
      const wv = (o[base + e] as number) / n;
      const dv = (o[base + k * d + e] as number) / n;
      dbarSq += dv * dv;
      wdbar += wv * dv;
    }
    for (let e = 0; e < m * q; e++) {
      const wv = (sumTw[i * m * q + e] as number) / n;
      const dv = (sumTd[i * m * q + e] as number) / n;
      dbarSq += dv * dv;
      wdbar += wv * dv;
    }
    result[i] = thetaFromMoments(
      n,
      (meanDD[i] as number) / n,
      (meanWD[i] as number) / n,
      dbarSq,
      wdbar,
      prev[i] as number,
      eps,
    );
  }
  return tf.tensor1d(result);
}
