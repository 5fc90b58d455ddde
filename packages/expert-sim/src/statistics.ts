import type { Rng } from "@sgprop/gym";
import { ExpertSimConfigError, requireInteger } from "./errors.js";

/** Sample mean and its standard error (sample std with n - 1, over sqrt(n); NaN for one value). */
export function meanAndStandardError(values: ArrayLike<number>): { mean: number; se: number } {
  const n = values.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i]!;
  const mean = sum / n;
  if (n <= 1) return { mean, se: Number.NaN };
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i]! - mean) ** 2;
  return { mean, se: Math.sqrt(ss / (n - 1)) / Math.sqrt(n) };
}

/** Linear-interpolation quantile of sorted values (numpy's default method). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const frac = pos - lo;
  return sorted[lo]! + frac * (sorted[hi]! - sorted[lo]!);
}

/** mean(numerator) / mean(denominator); NaN when both are zero, Infinity when only the denominator is. */
export function ratioOfMeans(numerator: ArrayLike<number>, denominator: ArrayLike<number>): number {
  let a = 0;
  let b = 0;
  for (let i = 0; i < numerator.length; i++) a += numerator[i]!;
  for (let i = 0; i < denominator.length; i++) b += denominator[i]!;
  return a / b;
}

export interface RatioSummary {
  /** mean(numerator) / mean(denominator) over all trials. */
  readonly ratio: number;
  /** Standard deviation of the bootstrap ratios (NaN if fewer than 2 trials or resamples). */
  readonly se: number;
  /** Lower percentile bound of the bootstrap interval. */
  readonly ciLow: number;
  /** Upper percentile bound of the bootstrap interval. */
  readonly ciHigh: number;
}

/**
 * Paired percentile bootstrap of a ratio of means: trials are resampled with replacement, keeping
 * each trial's two errors together (they come from the same feedback draw), and the interval is
 * the central `level` mass of the finite resampled ratios.
 */
export function bootstrapRatio(
  numerator: ArrayLike<number>,
  denominator: ArrayLike<number>,
  resamples: number,
  rng: Rng,
  level = 0.95,
): RatioSummary {
  if (numerator.length !== denominator.length) {
    throw new ExpertSimConfigError(
      "denominator.length",
      denominator.length,
      `must equal ${numerator.length}`,
    );
  }
  requireInteger("resamples", resamples, 0);
  if (!(level > 0 && level < 1)) throw new ExpertSimConfigError("level", level, "must be in (0, 1)");
  const ratio = ratioOfMeans(numerator, denominator);
  const n = numerator.length;
  if (n <= 1 || resamples <= 1 || !Number.isFinite(ratio)) {
    return { ratio, se: Number.NaN, ciLow: Number.NaN, ciHigh: Number.NaN };
  }
  const ratios = new Float64Array(resamples);
  let finite = 0;
  for (let b = 0; b < resamples; b++) {
    let a = 0;
    let c = 0;
    for (let i = 0; i < n; i++) {
      const pick = rng.integer(0, n - 1);
      a += numerator[pick]!;
      c += denominator[pick]!;
    }
    const value = a / c;
    if (Number.isFinite(value)) ratios[finite++] = value;
  }
  if (finite <= 1) return { ratio, se: Number.NaN, ciLow: Number.NaN, ciHigh: Number.NaN };
  const kept = ratios.subarray(0, finite).sort();
  const { se } = meanAndStandardError(kept);
  const alpha = (1 - level) / 2;
  return {
    ratio,
    se: se * Math.sqrt(finite),
    ciLow: quantileSorted(kept, alpha),
    ciHigh: quantileSorted(kept, 1 - alpha),
  };
}
