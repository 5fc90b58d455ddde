/**
 * BP(lambda)'s learning-curve figures (Pemberton & Costa, Figs. 3-5: the toy task with a learning
 * RNN, sequential MNIST, copy-repeat) from `sgprop train bp-lambda` results folders: each run's
 * metrics.csv / eval.csv, binned over batches, then mean +/- SEM over seeds per method.
 * Used by bench/bp-lambda-curves.ts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type MethodChoice, methodLabel, methodSettings } from "@sgprop/bp-lambda";
import type { VegaLiteSpec } from "../plot/index.js";
import { readMetricsCsv, rowsAsRecords } from "../run/files.js";
import { meanSem } from "./bp-lambda.js";
import { type BandRow, bandChart } from "./chart.js";

export interface CurveRun {
  readonly task: string;
  /** Table 2's label, e.g. "BP(0.5)", "BPTT n=3", "no BPTT". */
  readonly method: string;
  readonly seed: number;
  readonly train: readonly Record<string, number>[];
  readonly evalRows: readonly Record<string, number>[];
}

/** One results folder of `sgprop train bp-lambda`. */
export function readBpLambdaRun(dir: string): CurveRun {
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as {
    options: { task: string; method: MethodChoice["method"]; lambda?: number; n?: number; seed: number };
  };
  const o = config.options;
  const choice: MethodChoice = {
    method: o.method,
    ...(o.lambda === undefined ? {} : { lambda: o.lambda }),
    ...(o.n === undefined ? {} : { n: o.n }),
  };
  return {
    task: o.task,
    method: methodLabel(methodSettings(choice)),
    seed: o.seed,
    train: rowsAsRecords(readMetricsCsv(join(dir, "metrics.csv"))),
    evalRows: rowsAsRecords(readMetricsCsv(join(dir, "eval.csv"))),
  };
}

export interface CurveMetric {
  /** Panel title. */
  readonly panel: string;
  readonly source: "train" | "eval";
  readonly key: string;
  /** Batches per point: the run's values are averaged over each bin, plotted at its last batch. */
  readonly bin: number;
  /**
   * Scores that stay valid after a run stops (a length reached): read at each bin's end and carried
   * to the method's last batch.
   */
  readonly hold?: boolean;
  readonly scale?: number;
}

/**
 * One run's curve: mean of `metric.key` per bin of batches (with `hold`, its last value in the bin),
 * keyed by the bin's last batch.
 */
export function binnedCurve(run: CurveRun, metric: CurveMetric): Map<number, number> {
  const rows = metric.source === "train" ? run.train : run.evalRows;
  const sums = new Map<number, { sum: number; n: number }>();
  for (const row of rows) {
    const batch = row["charts/batch"];
    const value = row[metric.key];
    if (batch === undefined || value === undefined || !Number.isFinite(value)) continue;
    const x = Math.ceil(batch / metric.bin) * metric.bin;
    // a held score (a length reached) is read at the bin's end, not averaged across a change
    const s = metric.hold ? { sum: 0, n: 0 } : (sums.get(x) ?? { sum: 0, n: 0 });
    s.sum += value * (metric.scale ?? 1);
    s.n++;
    sums.set(x, s);
  }
  return new Map([...sums].sort((a, b) => a[0] - b[0]).map(([x, s]) => [x, s.sum / s.n]));
}

/**
 * Mean +/- SEM over the seeds of each method at every bin. Without `hold`, a bin averages the seeds
 * that reached it; with `hold`, a finished run counts with its last value up to the method's last bin.
 */
export function curveRows(
  runs: readonly CurveRun[],
  metric: CurveMetric,
  order?: readonly string[],
): BandRow[] {
  const byMethod = new Map<string, Map<number, number>[]>();
  for (const run of runs) {
    const curve = binnedCurve(run, metric);
    if (curve.size > 0) byMethod.set(run.method, [...(byMethod.get(run.method) ?? []), curve]);
  }
  const methods = [...byMethod.keys()].sort((a, b) => rank(a, order) - rank(b, order));
  const rows: BandRow[] = [];
  for (const method of methods) {
    const curves = byMethod.get(method) ?? [];
    const xs = [...new Set(curves.flatMap((c) => [...c.keys()]))].sort((a, b) => a - b);
    for (const x of xs) {
      const values: number[] = [];
      for (const c of curves) {
        const v = c.get(x) ?? (metric.hold ? lastBefore(c, x) : undefined);
        if (v !== undefined) values.push(v);
      }
      const { mean, lo, hi } = meanSem(values);
      rows.push({ panel: metric.panel, series: method, source: "ours", x, mean, lo, hi });
    }
  }
  return rows;
}

function rank(method: string, order?: readonly string[]): number {
  const i = order?.indexOf(method) ?? -1;
  return i < 0 ? Number.MAX_SAFE_INTEGER : i;
}

function lastBefore(curve: Map<number, number>, x: number): number | undefined {
  let last: number | undefined;
  for (const [cx, v] of curve) if (cx <= x) last = v;
  return last;
}

/** The order of Table 2's rows, for legends. */
export const BP_LAMBDA_METHOD_ORDER = [
  "BP(0)",
  "BP(0.5)",
  "BP(1)",
  "BPTT n=2",
  "BPTT n=3",
  "BPTT n=4",
  "BPTT n=5",
  "BPTT full",
  "BPTT+SG n=2",
  "BPTT+SG n=3",
  "BPTT+SG n=4",
  "BPTT+SG n=5",
  "no BPTT",
] as const;

/** Per task: the figure number and the two panels (the Table 2 quantity over training, and the loss). */
export const BP_LAMBDA_CURVE_FIGURES: Readonly<
  Record<string, { figure: string; title: string; metrics: readonly CurveMetric[] }>
> = {
  toy: {
    figure: "fig3-toy",
    title: "Fig. 3: toy task, learning tanh RNN",
    metrics: [
      { panel: "longest length solved", source: "train", key: "charts/solved_length", bin: 10, hold: true },
      { panel: "training loss (MSE)", source: "train", key: "losses/mse", bin: 10 },
    ],
  },
  "seq-mnist": {
    figure: "fig4-seq-mnist",
    title: "Fig. 4: sequential MNIST, LSTM",
    metrics: [
      { panel: "test accuracy (%)", source: "eval", key: "eval/accuracy", bin: 1, scale: 100 },
      { panel: "training loss (cross-entropy)", source: "train", key: "losses/loss", bin: 10 },
    ],
  },
  "copy-repeat": {
    figure: "fig5-copy-repeat",
    title: "Fig. 5: copy-repeat, LSTM",
    metrics: [
      { panel: "sequence length T", source: "train", key: "charts/length", bin: 25, hold: true },
      { panel: "training loss (bits)", source: "train", key: "losses/bits", bin: 25 },
    ],
  },
};

/** The figure of one task from its runs: both panels side by side, or null when no run has the task. */
export function bpLambdaCurveFigure(
  task: string,
  runs: readonly CurveRun[],
  subtitle: string,
): { name: string; spec: VegaLiteSpec; rows: BandRow[] } | null {
  const figure = BP_LAMBDA_CURVE_FIGURES[task];
  const mine = runs.filter((r) => r.task === task);
  if (figure === undefined || mine.length === 0) return null;
  const rows = figure.metrics.flatMap((m) => curveRows(mine, m, BP_LAMBDA_METHOD_ORDER));
  if (rows.length === 0) return null;
  const spec = bandChart(rows, {
    title: figure.title,
    subtitle,
    xTitle: "training batch",
    yTitle: "mean ± SEM over seeds",
    xFormat: "d",
    yFormat: ".3~g",
    independentY: true,
    columns: 2,
    width: 280,
    height: 200,
    seriesOrder: BP_LAMBDA_METHOD_ORDER.filter((m) => rows.some((r) => r.series === m)),
  });
  return { name: figure.figure, spec, rows };
}
