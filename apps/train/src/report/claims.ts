import { Rng } from "@sgprop/gym";
import { mean } from "../run/metrics.js";

/**
 * Bootstrap statistics and verdicts of the report's claims section (issue 18). Every claim of the
 * paper is a statistic with a claimed sign; seeds are resampled with replacement (10,000 times by
 * default) and the percentile 95% interval decides:
 *   supported      the interval excludes 0 on the claimed side,
 *   not supported  it excludes 0 on the other side,
 *   inconclusive   it contains 0, or a group has fewer than two seeds (no spread to resample).
 */

export type Direction = "positive" | "negative";
export type Verdict = "supported" | "not supported" | "inconclusive";

export const BOOTSTRAP_RESAMPLES = 10_000;
export const CONFIDENCE = 0.95;
const ZERO_TOLERANCE = 1e-12;

export interface Interval {
  readonly lo: number;
  readonly hi: number;
}

export interface BootstrapResult {
  /** The statistic on the data as measured. */
  readonly effect: number;
  readonly ci: Interval;
  /** Seeds behind the statistic: per group (differences) or profiles (slopes). */
  readonly seeds: readonly number[];
}

/** The bootstrap's own random stream, one per claim so that adding a claim changes no other. */
export function bootstrapRng(claimId: string): Rng {
  return Rng.derive(0, `train/claims-bootstrap/${claimId}`);
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

function interval(samples: number[]): Interval {
  const finite = samples.filter(Number.isFinite).sort((a, b) => a - b);
  const tail = (1 - CONFIDENCE) / 2;
  return { lo: percentile(finite, tail), hi: percentile(finite, 1 - tail) };
}

function resample<T>(items: readonly T[], rng: Rng): T[] {
  return items.map(() => items[rng.integer(0, items.length - 1)] as T);
}

/**
 * A statistic of independent groups of per-seed values (e.g. mean(a) - mean(b)), with each group
 * resampled on its own: the seeds of two methods are different runs, not pairs.
 */
export function bootstrapGroups(
  groups: readonly (readonly number[])[],
  statistic: (means: readonly number[]) => number,
  rng: Rng,
  resamples = BOOTSTRAP_RESAMPLES,
): BootstrapResult {
  const clean = groups.map((g) => g.filter(Number.isFinite));
  const effect = statistic(clean.map((g) => mean(g)));
  const samples: number[] = [];
  if (clean.every((g) => g.length > 0)) {
    for (let b = 0; b < resamples; b++) samples.push(statistic(clean.map((g) => mean(resample(g, rng)))));
  }
  return { effect, ci: interval(samples), seeds: clean.map((g) => g.length) };
}

/** mean(a) - mean(b) over independent seeds. */
export function bootstrapDifference(
  a: readonly number[],
  b: readonly number[],
  rng: Rng,
  resamples = BOOTSTRAP_RESAMPLES,
): BootstrapResult {
  return bootstrapGroups([a, b], ([ma, mb]) => (ma as number) - (mb as number), rng, resamples);
}

/** Least-squares slope of y on x; NaN when x does not vary. */
export function olsSlope(points: readonly { x: number; y: number }[]): number {
  const mx = mean(points.map((p) => p.x));
  const my = mean(points.map((p) => p.y));
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
  }
  return sxx > 0 ? sxy / sxx : Number.NaN;
}

/**
 * Slope of a per-seed quantity against a setting (e.g. the sgprop-minus-backprop gap against pFlip):
 * each profile holds one seed's points; seeds are resampled whole, so the points of one seed stay
 * together, and the slope is fitted to the pooled points of the resample.
 */
export function bootstrapSlope(
  profiles: readonly (readonly { x: number; y: number }[])[],
  rng: Rng,
  resamples = BOOTSTRAP_RESAMPLES,
): BootstrapResult {
  const clean = profiles
    .map((p) => p.filter((q) => Number.isFinite(q.x) && Number.isFinite(q.y)))
    .filter((p) => p.length > 0);
  const effect = olsSlope(clean.flat());
  const samples: number[] = [];
  if (clean.length > 0) {
    for (let b = 0; b < resamples; b++) samples.push(olsSlope(resample(clean, rng).flat()));
  }
  return { effect, ci: interval(samples), seeds: [clean.length] };
}

/** The verdict rule of the claims section (see the top of this file). */
export function verdictOf(result: BootstrapResult, direction: Direction): Verdict {
  const { lo, hi } = result.ci;
  if (result.seeds.some((n) => n < 2) || !Number.isFinite(lo) || !Number.isFinite(hi)) return "inconclusive";
  // Rounding residue of an exact zero (e.g. a slope of identical gaps) is not an effect.
  const positive = lo > ZERO_TOLERANCE;
  const negative = hi < -ZERO_TOLERANCE;
  if (direction === "positive" ? positive : negative) return "supported";
  if (direction === "positive" ? negative : positive) return "not supported";
  return "inconclusive";
}
