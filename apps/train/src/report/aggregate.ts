import type { TrainKind } from "../options/presets.js";
import { mean, sem, unitColumn } from "../run/metrics.js";
import type { LoadedRun, LoadedSweep } from "./load.js";

/** The metrics a report aggregates for each kind; the first is the one ranking learning rates. */
export function reportMetrics(
  kind: TrainKind,
): { metric: string; source: "train" | "eval"; title: string }[] {
  if (kind === "bp-lambda") {
    // BP(lambda)'s Table 2 scores (final values per method) and its Fig. 2 alignment; a metric a
    // task does not log is left out of the report.
    return [
      { metric: "charts/solved_length", source: "train", title: "toy: longest length solved (Table 2)" },
      {
        metric: "charts/length",
        source: "train",
        title: "sequence length (copy-repeat: T reached, Table 2)",
      },
      { metric: "eval/accuracy", source: "eval", title: "seq-MNIST test accuracy (Table 2)" },
      { metric: "sg/alignment", source: "train", title: "synthetic/true gradient alignment (Fig. 2)" },
      { metric: "losses/loss", source: "train", title: "training loss" },
    ];
  }
  if (kind === "dni") {
    // MNIST runs (Fig. 4 and the other mnist presets); the table2 and surface experiments log
    // neither, so their sweeps get only the tables and figures of their own runs.
    return [
      { metric: "eval/test_accuracy", source: "eval", title: "MNIST test accuracy (Fig. 4)" },
      { metric: "eval/test_loss", source: "eval", title: "MNIST test loss" },
      { metric: "losses/loss", source: "train", title: "training loss" },
    ];
  }
  return kind === "popgym"
    ? [
        { metric: "charts/return_mean", source: "train", title: "mean episode return" },
        { metric: "charts/success_rate", source: "train", title: "success rate" },
      ]
    : [
        { metric: "eval/reward", source: "eval", title: "evaluation reward (noiseless, held-out)" },
        { metric: "charts/batch_reward", source: "train", title: "training batch reward (noisy)" },
      ];
}

export interface CurvePoint {
  readonly unit: number;
  readonly mean: number;
  readonly sem: number;
  readonly n: number;
}

/** Mean +/- SEM over runs at each unit (runs aligned on the unit column). */
export function meanCurve(series: readonly (readonly { unit: number; value: number }[])[]): CurvePoint[] {
  const byUnit = new Map<number, number[]>();
  for (const s of series) {
    for (const { unit, value } of s) {
      if (!Number.isFinite(value)) continue;
      const list = byUnit.get(unit) ?? [];
      list.push(value);
      byUnit.set(unit, list);
    }
  }
  return [...byUnit.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([unit, values]) => ({ unit, mean: mean(values), sem: sem(values), n: values.length }));
}

export function seriesOf(
  run: LoadedRun,
  kind: TrainKind,
  metric: string,
  source: "train" | "eval",
): { unit: number; value: number }[] {
  const rows = source === "eval" ? run.evalRows : run.train;
  const unit = unitColumn(kind);
  return rows
    .map((r) => ({ unit: r[unit] ?? Number.NaN, value: r[metric] ?? Number.NaN }))
    .filter((p) => Number.isFinite(p.unit) && Number.isFinite(p.value));
}

/** Normalised area under a run's curve: the mean of the metric over its rows. */
export function runAuc(series: readonly { value: number }[]): number {
  return mean(series.map((p) => p.value));
}

export interface GroupStats {
  readonly setting: string;
  readonly method: string;
  readonly learningRate: number;
  readonly runs: readonly LoadedRun[];
  readonly auc: { mean: number; sem: number; n: number };
  /** Mean of the last 10% of rows, over seeds. */
  readonly final: { mean: number; sem: number; n: number };
}

function stats(values: number[]): { mean: number; sem: number; n: number } {
  const finite = values.filter(Number.isFinite);
  return { mean: mean(finite), sem: sem(finite), n: finite.length };
}

/** Complete runs grouped by (setting, method, learning rate), with AUC and final value of `metric`. */
export function groupRuns(loaded: LoadedSweep, metric: string, source: "train" | "eval"): GroupStats[] {
  const kind = loaded.sweep.kind;
  const groups = new Map<string, LoadedRun[]>();
  for (const r of loaded.runs) {
    if (r.status !== "complete") continue;
    const key = JSON.stringify([r.setting, r.run.method, r.run.options.learningRate]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.entries()].map(([key, runs]) => {
    const [setting, method, learningRate] = JSON.parse(key) as [string, string, number];
    const series = runs.map((r) => seriesOf(r, kind, metric, source));
    const finals = series.map((s) =>
      mean(s.slice(-Math.max(1, Math.ceil(s.length / 10))).map((p) => p.value)),
    );
    return { setting, method, learningRate, runs, auc: stats(series.map(runAuc)), final: stats(finals) };
  });
}

/** For each (setting, method): the learning rate with the best mean AUC (the paper's curves use it). */
export function bestLearningRates(groups: readonly GroupStats[]): GroupStats[] {
  const best = new Map<string, GroupStats>();
  for (const g of groups) {
    const key = JSON.stringify([g.setting, g.method]);
    const current = best.get(key);
    if (current === undefined || g.auc.mean > current.auc.mean) best.set(key, g);
  }
  return [...best.values()];
}
