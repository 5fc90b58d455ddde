import type { TrainKind } from "../options/presets.js";
import { mean } from "../run/metrics.js";

/**
 * The verdict of `sgprop validate` (issue 13): ours lands on the reference when, for every method
 * and every headline metric, the mean over our seeds lies inside the range of the reference's seeds
 * widened by {@link MARGIN} on each side. Learning curves vary a lot between seeds (the bandit's
 * SparseNet backprop ends anywhere in 0.40-0.72 on four reference seeds), so the rule compares a
 * mean of several seeds with the reference's spread, not seed with seed.
 */
export const MARGIN = 0.08;

/** Per run: the numbers compared. */
export interface RunMetrics {
  readonly seed: number;
  /** Bandit: the last evaluation's reward. POPGym: mean success rate of the last 50 batches. */
  readonly final: number;
  /** Bandit: mean of all evaluations. POPGym: mean success rate over all batches. */
  readonly mean: number;
}

export const METRIC_LABELS: Readonly<Record<TrainKind, { final: string; mean: string }>> = {
  bandit: { final: "final eval reward", mean: "mean of the evaluations" },
  popgym: { final: "success, last 50 batches", mean: "success, all batches" },
  // `sgprop validate` has no dni reference runs; the entry keeps the table total.
  dni: { final: "final loss", mean: "mean loss" },
};

/** The two headline numbers of one curve (eval rewards or per-batch success rates, in order). */
export function runMetrics(kind: TrainKind, seed: number, values: readonly number[]): RunMetrics {
  const final = kind === "bandit" ? (values.at(-1) as number) : mean(values.slice(-50));
  return { seed, final, mean: mean(values) };
}

export interface MetricVerdict {
  readonly metric: "final" | "mean";
  readonly ours: number;
  readonly oursPerSeed: readonly number[];
  readonly reference: readonly number[];
  readonly low: number;
  readonly high: number;
  readonly pass: boolean;
}

export interface MethodVerdict {
  readonly method: string;
  readonly oursSeeds: readonly number[];
  readonly referenceSeeds: readonly number[];
  readonly metrics: readonly MetricVerdict[];
  /** Whether this method's verdict counts towards the overall PASS. */
  readonly gating: boolean;
  readonly pass: boolean;
  /** POPGym: runs whose last-50 success exceeds 0.5 (the outcome is bimodal), ours / reference. */
  readonly solved?: { ours: number; reference: number };
}

export function compareMethod(
  kind: TrainKind,
  method: string,
  ours: readonly RunMetrics[],
  reference: readonly RunMetrics[],
  gating: boolean,
): MethodVerdict {
  const metrics = (["final", "mean"] as const).map((metric): MetricVerdict => {
    const refValues = reference.map((r) => r[metric]);
    const oursPerSeed = ours.map((r) => r[metric]);
    const ourMean = mean(oursPerSeed);
    const low = Math.min(...refValues) - MARGIN;
    const high = Math.max(...refValues) + MARGIN;
    return {
      metric,
      ours: ourMean,
      oursPerSeed,
      reference: refValues,
      low,
      high,
      pass: ours.length > 0 && ourMean >= low && ourMean <= high,
    };
  });
  const solvedCount = (runs: readonly RunMetrics[]) => runs.filter((r) => r.final > 0.5).length;
  return {
    method,
    oursSeeds: ours.map((r) => r.seed),
    referenceSeeds: reference.map((r) => r.seed),
    metrics,
    gating,
    pass: metrics.every((m) => m.pass),
    ...(kind === "popgym" ? { solved: { ours: solvedCount(ours), reference: solvedCount(reference) } } : {}),
  };
}
