import { ExpertSimConfigError, requireLength } from "./errors.js";
import { populationGradient } from "./gradient.js";
import type { ExpertProblem } from "./problem.js";

/**
 * What a synthetic-gradient table predicts for a key no observation reached:
 * - `global-mean` (default, as in the paper's code): the expert's mean feedback over everything it saw;
 * - `zero`: no feedback at all.
 * In the balanced design of the paper (every partition observed n >= 1 times, k <= d) every key is
 * seen, so the fallback only matters for callers that pass partition counts with zeros.
 */
export type TableFallback = "global-mean" | "zero";

export const TABLE_FALLBACKS: readonly TableFallback[] = ["global-mean", "zero"];

export function assertTableFallback(value: unknown): asserts value is TableFallback {
  if (!TABLE_FALLBACKS.includes(value as TableFallback)) {
    throw new ExpertSimConfigError("fallback", value, `must be one of ${TABLE_FALLBACKS.join(", ")}`);
  }
}

/**
 * Backpropagation's estimate: the per-partition sample means of the feedback, pushed through each
 * block's own Jacobian. Only the n observations of partition r inform g_r.
 */
export function backpropGradient(problem: ExpertProblem, meanFeedback: Float64Array): Float64Array {
  return populationGradient(problem, meanFeedback);
}

/**
 * Fits one lookup table per expert, indexed by the expert's projected input (its k observed bits):
 * the table entry is the mean feedback over every observation whose projection has that key,
 * pooling the 2^(d-k) partitions that look alike to the expert.
 *
 * @param meanFeedback [R, m] per-partition mean feedback.
 * @param keys [R, m] keys from {@link tableKeys}.
 * @param counts optional [R] observations per partition (default: all equal). A partition with
 *   count 0 contributes nothing; keys left with no observation get the `fallback` value.
 * @returns [m, 2^k] tables.
 */
export function fitSyntheticTables(
  meanFeedback: Float64Array,
  keys: Int32Array,
  m: number,
  k: number,
  fallback: TableFallback = "global-mean",
  counts?: ArrayLike<number>,
): Float64Array {
  assertTableFallback(fallback);
  const partitions = Math.floor(meanFeedback.length / m);
  requireLength("meanFeedback", meanFeedback.length, partitions * m, `a multiple of m = ${m}`);
  requireLength("keys", keys.length, meanFeedback.length, "the length of meanFeedback");
  if (counts !== undefined && counts.length !== partitions) {
    throw new ExpertSimConfigError(
      "counts.length",
      counts.length,
      `must equal the number of partitions ${partitions}`,
    );
  }
  const size = 2 ** k;
  const sums = new Float64Array(m * size);
  const weights = new Float64Array(m * size);
  for (let r = 0; r < partitions; r++) {
    const w = counts === undefined ? 1 : counts[r]!;
    if (w === 0) continue;
    for (let j = 0; j < m; j++) {
      const slot = j * size + keys[r * m + j]!;
      sums[slot]! += w * meanFeedback[r * m + j]!;
      weights[slot]! += w;
    }
  }
  const tables = new Float64Array(m * size);
  for (let j = 0; j < m; j++) {
    let total = 0;
    let totalWeight = 0;
    for (let key = 0; key < size; key++) {
      total += sums[j * size + key]!;
      totalWeight += weights[j * size + key]!;
    }
    // An expert that saw nothing has no mean to fall back on; zero is all that is left.
    const unseen = fallback === "global-mean" && totalWeight > 0 ? total / totalWeight : 0;
    for (let key = 0; key < size; key++) {
      const w = weights[j * size + key]!;
      tables[j * size + key] = w > 0 ? sums[j * size + key]! / w : unseen;
    }
  }
  return tables;
}

/** [R, m] the feedback each table predicts at each partition. */
export function predictSyntheticFeedback(
  tables: Float64Array,
  keys: Int32Array,
  m: number,
  k: number,
  out: Float64Array = new Float64Array(keys.length),
): Float64Array {
  const size = 2 ** k;
  requireLength("tables", tables.length, m * size, `m x 2^k = ${m} x ${size}`);
  requireLength("out", out.length, keys.length, "the length of keys");
  for (let i = 0; i < keys.length; i++) out[i] = tables[(i % m) * size + keys[i]!]!;
  return out;
}

/** Synthetic gradients' estimate: the table predictions pushed through each block's Jacobian. */
export function syntheticGradient(
  problem: ExpertProblem,
  tables: Float64Array,
  keys: Int32Array,
): Float64Array {
  return populationGradient(problem, predictSyntheticFeedback(tables, keys, problem.m, problem.k));
}
