import type { TrainKind } from "../options/presets.js";
import { dniHeadlineMetrics } from "./dni-metrics.js";

/** The metrics shown live, summarised and plotted for each kind of run (CleanRL-style names). */
export function headlineMetrics(kind: TrainKind): { live: string[]; plotted: string[]; primary: string } {
  if (kind === "dni") return dniHeadlineMetrics;
  if (kind === "bp-lambda") {
    return {
      live: ["losses/loss", "charts/length", "charts/solved_length", "eval/accuracy"],
      plotted: [
        "losses/loss",
        "charts/length",
        "charts/solved_length",
        "sg/td_error",
        "sg/alignment",
        "eval/accuracy",
      ],
      primary: "charts/length",
    };
  }
  if (kind === "popgym") {
    return {
      live: ["charts/success_rate", "charts/return_mean", "sgprop/theta_mean", "losses/sg_loss"],
      plotted: [
        "charts/return_mean",
        "charts/success_rate",
        "charts/length_mean",
        "losses/entropy",
        "losses/sg_loss",
        "sgprop/theta_mean",
      ],
      primary: "charts/return_mean",
    };
  }
  return {
    live: ["charts/batch_reward", "eval/reward", "sgprop/theta_mean_0", "losses/sg_loss"],
    plotted: [
      "eval/reward",
      "charts/batch_reward",
      "losses/policy_loss",
      "losses/sg_loss",
      "sgprop/theta_mean_*",
    ],
    primary: "eval/reward",
  };
}

/** The column counting a run's units: dni rows count them in charts/step (a step, or a Table 2 data set). */
export function unitColumn(kind: TrainKind): string {
  return kind === "bandit" || kind === "dni" ? "charts/step" : "charts/batch";
}

export function unitName(kind: TrainKind): string {
  return kind === "bandit" ? "step" : kind === "dni" ? "unit" : "batch";
}

export function unitsName(kind: TrainKind): string {
  return kind === "bandit" ? "steps" : kind === "dni" ? "units" : "batches";
}

export interface MetricSummary {
  readonly last: number;
  /** Mean over the last 10% of rows (at least one): less noisy than the last value. */
  readonly lastTenthMean: number;
  readonly best: number;
  /** Mean over all rows: the normalised area under the curve. */
  readonly auc: number;
}

export function summariseSeries(values: readonly number[]): MetricSummary | undefined {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return undefined;
  const tail = finite.slice(-Math.max(1, Math.ceil(finite.length / 10)));
  return {
    last: finite[finite.length - 1] as number,
    lastTenthMean: mean(tail),
    best: Math.max(...finite),
    auc: mean(finite),
  };
}

export function mean(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return values.length === 0 ? Number.NaN : s / values.length;
}

/** Standard error of the mean (sample std / sqrt(n)); 0 for a single value. */
export function sem(values: readonly number[]): number {
  const n = values.length;
  if (n < 2) return 0;
  const m = mean(values);
  let ss = 0;
  for (const v of values) ss += (v - m) ** 2;
  return Math.sqrt(ss / (n - 1) / n);
}

export function formatNumber(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return "-";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return v.toFixed(a >= 100 ? 1 : 4);
}

/** A plain aligned text table (first column left-aligned, others right-aligned). */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
