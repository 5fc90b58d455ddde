/**
 * The errors of gradient estimators, the quantity Lemma 1 and Theorems 1-3 of the paper are about,
 * computed from {@link PoolMoments}. An estimator is the mean over a batch of n samples of a linear
 * combination z = sum_k c_k x^k of per-sample gradient kinds (backprop: c = [1, 0, 0]; the mixture
 * at theta: theta * live + (1 - theta) * synthetic). Against a target t (the population mean of a
 * combination, estimated by the pool mean; or an exact vector where one is known), per unit:
 *   variance = tr Cov(z) / n                          (Lemma 1's variance term)
 *   bias2    = ||mean(z) - t||^2 - sampling variance of that difference over the pool
 *   mse      = variance + bias2
 * tr Cov is the unbiased pool estimate (divisor N - 1). The variance term is the expectation over
 * independent batches of n samples from the population the pool was drawn from, which is also the
 * exact expectation over batches resampled with replacement from the pool up to the factor
 * (N - 1) / N; no batch is drawn, so the numbers carry no resampling noise. The bias correction
 * removes the pool's own sampling noise: E||pool mean(z - t)||^2 = ||E(z - t)||^2 + tr Cov(z - t)/N.
 */
import { momentIndex, type PoolMoments } from "./poolMoments.js";

/** Coefficient of each kind in an estimator: a number for every unit, or one per unit. */
export type Coefficients = readonly (number | ArrayLike<number>)[];

/** What the estimators are compared against. */
export type EstimatorTarget =
  /** The population mean of a combination of kinds (e.g. backprop), estimated from the pool. */
  | { readonly kind: "pool"; readonly coefficients: Coefficients }
  /**
   * A known vector T_i per unit: innerWithSums[k * units + i] = <sum_n x^k_{n,i}, T_i>,
   * normSq[i] = ||T_i||^2.
   */
  | { readonly kind: "exact"; readonly innerWithSums: Float64Array; readonly normSq: Float64Array };

/** Per-unit error of one estimator at one batch size. */
export interface EstimatorError {
  /** tr Cov(z) / n. */
  readonly variance: Float64Array;
  /** ||pool mean(z) - target||^2 before the correction. */
  readonly bias2Raw: Float64Array;
  /** bias2Raw minus its expected sampling part, floored at 0. */
  readonly bias2: Float64Array;
  /** variance + bias2. */
  readonly mse: Float64Array;
}

/** Reads an entry the loops' bounds guarantee (noUncheckedIndexedAccess). */
function at(a: ArrayLike<number>, i: number): number {
  return a[i] as number;
}

function coefficient(c: number | ArrayLike<number> | undefined, unit: number): number {
  if (c === undefined) throw new Error("missing coefficient");
  return typeof c === "number" ? c : at(c, unit);
}

/** sum_kj a_k b_j arr[k][j][unit] */
function quadratic(
  m: PoolMoments,
  arr: Float64Array,
  a: readonly number[],
  b: readonly number[],
  unit: number,
): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) {
    const ak = at(a, k);
    if (ak === 0) continue;
    for (let j = 0; j < b.length; j++) {
      const bj = at(b, j);
      if (bj !== 0) s += ak * bj * at(arr, momentIndex(m, k, j, unit));
    }
  }
  return s;
}

/** Unbiased pool estimate of the trace of the covariance between combinations a and b. */
function traceCovariance(m: PoolMoments, a: readonly number[], b: readonly number[], unit: number): number {
  const n = m.samples;
  return (quadratic(m, m.sumInner, a, b, unit) - quadratic(m, m.innerOfSums, a, b, unit) / n) / (n - 1);
}

function unitCoefficients(m: PoolMoments, c: Coefficients, unit: number): number[] {
  if (c.length !== m.kinds.length) {
    throw new Error(`expected ${m.kinds.length} coefficients (${m.kinds.join(", ")}), got ${c.length}`);
  }
  return c.map((x) => coefficient(x, unit));
}

function checkPool(m: PoolMoments, batch: number): void {
  if (m.samples < 2) throw new Error(`the diagnosis needs a pool of at least 2 samples, got ${m.samples}`);
  if (!Number.isInteger(batch) || batch < 1)
    throw new Error(`batch size must be a positive integer, got ${batch}`);
}

/** Variance, squared bias and MSE of one unit's estimator with coefficients c. */
function unitError(
  m: PoolMoments,
  c: readonly number[],
  batch: number,
  target: EstimatorTarget,
  unit: number,
): { variance: number; bias2Raw: number; correction: number } {
  const n = m.samples;
  const variance = traceCovariance(m, c, c, unit) / batch;
  if (target.kind === "pool") {
    const e = c.map((x, k) => x - coefficient(target.coefficients[k], unit));
    const bias2Raw = quadratic(m, m.innerOfSums, e, e, unit) / (n * n);
    return { variance, bias2Raw, correction: traceCovariance(m, e, e, unit) / n };
  }
  let cross = 0;
  for (let k = 0; k < c.length; k++) cross += at(c, k) * at(target.innerWithSums, k * m.units + unit);
  const bias2Raw =
    quadratic(m, m.innerOfSums, c, c, unit) / (n * n) - (2 * cross) / n + at(target.normSq, unit);
  return { variance, bias2Raw, correction: traceCovariance(m, c, c, unit) / n };
}

/** Per-unit variance, squared bias and MSE of the estimator with coefficients c at batch size n. */
export function estimatorError(
  m: PoolMoments,
  c: Coefficients,
  batch: number,
  target: EstimatorTarget,
): EstimatorError {
  checkPool(m, batch);
  const out = {
    variance: new Float64Array(m.units),
    bias2Raw: new Float64Array(m.units),
    bias2: new Float64Array(m.units),
    mse: new Float64Array(m.units),
  };
  for (let i = 0; i < m.units; i++) {
    const e = unitError(m, unitCoefficients(m, c, i), batch, target, i);
    out.variance[i] = e.variance;
    out.bias2Raw[i] = Math.max(0, e.bias2Raw);
    out.bias2[i] = Math.max(0, e.bias2Raw - e.correction);
    out.mse[i] = e.variance + Math.max(0, e.bias2Raw - e.correction);
  }
  return out;
}

/**
 * Sampling variance of the target's pool estimate, per unit: tr Cov(t) / N (0 for an exact target).
 * The diagnosis calls the population estimate good enough when this is under 10% of the smallest
 * MSE it reports; its square root is the standard error of the target (in norm).
 */
export function targetVariance(m: PoolMoments, target: EstimatorTarget): Float64Array {
  const out = new Float64Array(m.units);
  if (target.kind === "exact") return out;
  checkPool(m, 1);
  for (let i = 0; i < m.units; i++) {
    const t = unitCoefficients(m, target.coefficients, i);
    out[i] = Math.max(0, traceCovariance(m, t, t, i)) / m.samples;
  }
  return out;
}

/** The mixing weights the diagnosis scans: 0, 1/steps, ..., 1. */
export function thetaGrid(steps = 100): number[] {
  return Array.from({ length: steps + 1 }, (_, s) => s / steps);
}

/** Coefficients of theta * received + (1 - theta) * synthetic, the other kinds at 0. */
export function mixtureCoefficients(
  kinds: number,
  received: number,
  synthetic: number,
  theta: number | ArrayLike<number>,
): Coefficients {
  const c: (number | ArrayLike<number>)[] = new Array(kinds).fill(0);
  if (typeof theta === "number") {
    c[received] = theta;
    c[synthetic] = 1 - theta;
  } else {
    c[received] = theta;
    c[synthetic] = Float64Array.from({ length: theta.length }, (_, i) => 1 - at(theta, i));
  }
  return c;
}

/** Per unit, the grid theta whose mixture has the least MSE, and that MSE. */
export function bestThetaOnGrid(
  m: PoolMoments,
  received: number,
  synthetic: number,
  batch: number,
  target: EstimatorTarget,
  grid: readonly number[] = thetaGrid(),
): { theta: Float64Array; mse: Float64Array } {
  checkPool(m, batch);
  const theta = new Float64Array(m.units);
  const mse = new Float64Array(m.units).fill(Number.POSITIVE_INFINITY);
  for (const th of grid) {
    const c = mixtureCoefficients(m.kinds.length, received, synthetic, th) as number[];
    for (let i = 0; i < m.units; i++) {
      const e = unitError(m, c, batch, target, i);
      const value = e.variance + Math.max(0, e.bias2Raw - e.correction);
      if (value < at(mse, i)) {
        mse[i] = value;
        theta[i] = th;
      }
    }
  }
  return { theta, mse };
}

/**
 * Eq. 3 in the population limit: its V, C and B^2 (sgprop/thetaEstimator.ts) with the pool's
 * covariances in place of one batch's, at batch size n, with d = synthetic - received and the
 * received gradient's mean as the target (as eq. 3 has it). This is the theta eq. 3 would return
 * from perfectly estimated moments; thetaPrev where V + B^2 <= eps.
 */
export function eq3ThetaFromPool(
  m: PoolMoments,
  received: number,
  synthetic: number,
  batch: number,
  thetaPrev: number | ArrayLike<number> = 1,
  eps = 1e-12,
): Float64Array {
  checkPool(m, batch);
  const out = new Float64Array(m.units);
  const kk = m.kinds.length;
  const w = new Array(kk).fill(0);
  w[received] = 1;
  const d = new Array(kk).fill(0);
  d[synthetic] += 1;
  d[received] -= 1;
  for (let i = 0; i < m.units; i++) {
    const v = Math.max(0, traceCovariance(m, d, d, i)) / batch;
    const c = traceCovariance(m, w, d, i) / batch;
    const meanSq = quadratic(m, m.innerOfSums, d, d, i) / (m.samples * m.samples);
    const b2 = Math.max(0, meanSq - traceCovariance(m, d, d, i) / m.samples);
    const denom = v + b2;
    out[i] = denom > eps ? Math.min(1, Math.max(0, 1 + c / denom)) : coefficient(thetaPrev, i);
  }
  return out;
}

/** Sum of per-unit values over the units [from, to): a layer's total (its parameters concatenated). */
export function sumUnits(values: ArrayLike<number>, from = 0, to = values.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += at(values, i);
  return s;
}
