import type { FeedbackCase } from "./feedback.js";
import type { ExpertSimRow } from "./simulation.js";

/** How well one case's rows follow Theorem 5's 2^(d-k). */
export interface CaseAgreement {
  readonly case: FeedbackCase;
  /** Rows with a finite ratio. */
  readonly cells: number;
  /** Rows whose bootstrap interval contains 2^(d-k). */
  readonly covered: number;
  /** Geometric mean of ratio / 2^(d-k) (1 = on the line). */
  readonly meanRatioOverTheory: number;
  /** Least-squares slope of log2(ratio) against d - k (1 = the theorem's growth rate). */
  readonly log2Slope: number;
}

/**
 * Per-case summary of a sweep against the theory: the slope of log2(ratio) on d - k is the
 * sharpest single check (a ratio of 2^(d-k-1) would keep slope 1 but halve the mean, a ratio of
 * 2^((d-k)/2) would halve the slope).
 */
export function summarizeAgreement(rows: readonly ExpertSimRow[]): CaseAgreement[] {
  const cases = [...new Set(rows.map((r) => r.case))];
  return cases.map((c) => {
    const mine = rows.filter((r) => r.case === c && Number.isFinite(r.ratio) && r.ratio > 0);
    const xs = mine.map((r) => r.d - r.k);
    const ys = mine.map((r) => Math.log2(r.ratio));
    const n = mine.length;
    const mx = xs.reduce((s, x) => s + x, 0) / n;
    const my = ys.reduce((s, y) => s + y, 0) / n;
    let sxy = 0;
    let sxx = 0;
    for (let i = 0; i < n; i++) {
      sxy += (xs[i]! - mx) * (ys[i]! - my);
      sxx += (xs[i]! - mx) ** 2;
    }
    const logOffset = mine.reduce((s, r) => s + Math.log2(r.ratio / r.theory), 0) / n;
    return {
      case: c,
      cells: n,
      covered: mine.filter((r) => r.ratioCiLow <= r.theory && r.theory <= r.ratioCiHigh).length,
      meanRatioOverTheory: 2 ** logOffset,
      log2Slope: sxx > 0 ? sxy / sxx : Number.NaN,
    };
  });
}
