import { Rng } from "@sgprop/gym";
import { DNI_STREAMS } from "../streams.js";

/**
 * The artificial data sets of Table 2 (Czarnecki et al. 2017, Sec. 3.2). Inputs x ~ N(0, I_k); a
 * teacher w ~ N(0, I_k); labels from x.w:
 * - "linear": MSE y = x.w; log loss y = [x.w > 0] (linearly separable);
 * - "noisy":  the same with 10% of the labels replaced by random ones (MSE: a N(0, |w|^2) draw, the
 *   labels' own distribution; log loss: a fair coin);
 * - "random": every label random, drawn the same way.
 * The paper uses k = 2 with 100 points and k = 100 with 1000 points.
 */
export type ArtificialKind = "linear" | "noisy" | "random";
export const ARTIFICIAL_KINDS: readonly ArtificialKind[] = ["linear", "noisy", "random"];

/** Fraction of labels a "noisy" data set replaces. */
export const NOISY_FRACTION = 0.1;

export interface ArtificialData {
  readonly n: number;
  readonly k: number;
  /** [n, k] row-major. */
  readonly x: Float64Array;
  /** [n] labels. */
  readonly y: Float64Array;
}

/** Points per data set for input dimension k: the paper's 100 for k = 2, 1000 for k = 100, else 10 k. */
export function defaultPoints(k: number): number {
  return k === 2 ? 100 : k === 100 ? 1000 : 10 * k;
}

/**
 * Data set number `index` of a kind: its own stream, "dni/data/<kind>-<loss>-k<k>-n<n>/<index>", so
 * the ten data sets of a cell (and the cells) never share numbers.
 */
export function artificialData(
  kind: ArtificialKind,
  loss: "mse" | "logistic",
  k: number,
  n: number,
  seed: number,
  index: number,
): ArtificialData {
  const rng = Rng.derive(seed, `${DNI_STREAMS.data}/${kind}-${loss}-k${k}-n${n}/${index}`);
  const w = Array.from({ length: k }, () => rng.normal());
  const norm = Math.sqrt(w.reduce((s, v) => s + v * v, 0));
  const x = new Float64Array(n * k);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let dot = 0;
    for (let j = 0; j < k; j++) {
      const v = rng.normal();
      x[i * k + j] = v;
      dot += v * (w[j] as number);
    }
    const randomLabel = kind === "random" || (kind === "noisy" && rng.float() < NOISY_FRACTION);
    if (loss === "mse") y[i] = randomLabel ? rng.normal() * norm : dot;
    else y[i] = randomLabel ? (rng.float() < 0.5 ? 1 : 0) : dot > 0 ? 1 : 0;
  }
  return { n, k, x, y };
}

/** Solves M z = r in place by Gaussian elimination with partial pivoting (M is [m, m] row-major). */
function solve(M: Float64Array, r: Float64Array, m: number): Float64Array {
  for (let col = 0; col < m; col++) {
    let piv = col;
    for (let i = col + 1; i < m; i++)
      if (Math.abs(M[i * m + col] as number) > Math.abs(M[piv * m + col] as number)) piv = i;
    if (piv !== col) {
      for (let j = 0; j < m; j++) {
        const t = M[col * m + j] as number;
        M[col * m + j] = M[piv * m + j] as number;
        M[piv * m + j] = t;
      }
      const t = r[col] as number;
      r[col] = r[piv] as number;
      r[piv] = t;
    }
    const d = M[col * m + col] as number;
    for (let i = col + 1; i < m; i++) {
      const f = (M[i * m + col] as number) / d;
      if (f === 0) continue;
      for (let j = col; j < m; j++) M[i * m + j] = (M[i * m + j] as number) - f * (M[col * m + j] as number);
      r[i] = (r[i] as number) - f * (r[col] as number);
    }
  }
  const z = new Float64Array(m);
  for (let i = m - 1; i >= 0; i--) {
    let s = r[i] as number;
    for (let j = i + 1; j < m; j++) s -= (M[i * m + j] as number) * (z[j] as number);
    z[i] = s / (M[i * m + i] as number);
  }
  return z;
}

/** The affine model's features [x, 1] times theta, for every point. */
function scores(d: ArtificialData, theta: Float64Array): Float64Array {
  const s = new Float64Array(d.n);
  for (let i = 0; i < d.n; i++) {
    let v = theta[d.k] as number;
    for (let j = 0; j < d.k; j++) v += (d.x[i * d.k + j] as number) * (theta[j] as number);
    s[i] = v;
  }
  return s;
}

function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/** Mean loss of the affine model theta = [w, bias] (the losses of losses.ts, in float64). */
export function affineLoss(d: ArtificialData, loss: "mse" | "logistic", theta: Float64Array): number {
  const s = scores(d, theta);
  let total = 0;
  for (let i = 0; i < d.n; i++) {
    const z = s[i] as number;
    const y = d.y[i] as number;
    total += loss === "mse" ? 0.5 * (z - y) ** 2 : softplus(z) - y * z;
  }
  return total / d.n;
}

/**
 * The global optimum of the mean loss over affine models, in float64 (deep linear nets represent
 * the same functions, so it is their optimum too). MSE: least squares by the normal equations.
 * Log loss: Newton's method with a backtracking line search; on separable data the infimum is 0 and
 * is not attained, which is reported as 0 once the loss falls below 1e-9.
 */
export function globalOptimum(d: ArtificialData, loss: "mse" | "logistic"): number {
  const m = d.k + 1;
  const feat = (i: number, j: number) => (j === d.k ? 1 : (d.x[i * d.k + j] as number));
  if (loss === "mse") {
    const M = new Float64Array(m * m);
    const r = new Float64Array(m);
    for (let i = 0; i < d.n; i++) {
      for (let a = 0; a < m; a++) {
        r[a] = (r[a] as number) + feat(i, a) * (d.y[i] as number);
        for (let b = 0; b < m; b++) M[a * m + b] = (M[a * m + b] as number) + feat(i, a) * feat(i, b);
      }
    }
    return affineLoss(d, loss, solve(M, r, m));
  }
  let theta = new Float64Array(m);
  let current = affineLoss(d, loss, theta);
  for (let iter = 0; iter < 200 && current > 1e-9; iter++) {
    const s = scores(d, theta);
    const g = new Float64Array(m);
    const H = new Float64Array(m * m);
    for (let i = 0; i < d.n; i++) {
      const p = 1 / (1 + Math.exp(-(s[i] as number)));
      const e = (p - (d.y[i] as number)) / d.n;
      const wgt = Math.max(p * (1 - p), 1e-12) / d.n;
      for (let a = 0; a < m; a++) {
        g[a] = (g[a] as number) + e * feat(i, a);
        for (let b = 0; b < m; b++) H[a * m + b] = (H[a * m + b] as number) + wgt * feat(i, a) * feat(i, b);
      }
    }
    for (let a = 0; a < m; a++) H[a * m + a] = (H[a * m + a] as number) + 1e-12;
    const step = solve(H, Float64Array.from(g), m);
    let t = 1;
    let next = theta;
    let nextLoss = current;
    while (t > 1e-10) {
      next = theta.map((v, a) => v - t * (step[a] as number));
      nextLoss = affineLoss(d, loss, next);
      if (nextLoss < current) break;
      t /= 2;
    }
    if (!(nextLoss < current)) break;
    const done = current - nextLoss < 1e-15;
    theta = next;
    current = nextLoss;
    if (done) break;
  }
  return current < 1e-9 ? 0 : current;
}
