import type { VegaLiteSpec } from "../plot/index.js";
import { formatNumber, mean, sem } from "../run/metrics.js";
import { seriesOf } from "./aggregate.js";
import { bandChart, FORMATS, pointChart } from "./chart.js";
import type { LoadedRun, LoadedSweep } from "./load.js";

/**
 * Fig. 4 of Czarnecki et al. 2017 from a `dni` sweep over `hiddenLayers` (MNIST runs): the final
 * test error and the time per step against the depth, one line per method of the sweep file, and
 * the test-accuracy curves at each depth.
 */
export interface DepthRow {
  readonly method: string;
  readonly depth: number;
  readonly seeds: number;
  /** Test error (%) at the run's last evaluation, mean and SEM over seeds. */
  readonly finalError: { mean: number; sem: number };
  /** Median seconds of a training step (perf/step_seconds), mean over seeds. */
  readonly stepSeconds: number;
  /** Seconds of all training steps of a run (evaluations and I/O excluded), mean over seeds. */
  readonly trainSeconds: number;
}

const median = (v: readonly number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

function depthOf(r: LoadedRun): number {
  return Number(r.run.options.hiddenLayers);
}

/** Whether a loaded sweep is an MNIST depth sweep: dni, experiment mnist, several hiddenLayers. */
export function isDepthSweep(loaded: LoadedSweep): boolean {
  const { sweep, runs } = loaded;
  if (sweep.kind !== "dni") return false;
  if (!runs.every((r) => r.run.options.experiment === "mnist")) return false;
  return new Set(runs.map(depthOf)).size > 1;
}

/** One row per (method, depth) of the complete runs, sorted by method then depth. */
export function depthRows(loaded: LoadedSweep): DepthRow[] {
  const groups = new Map<string, LoadedRun[]>();
  for (const r of loaded.runs) {
    if (r.status !== "complete") continue;
    const key = JSON.stringify([r.run.method, depthOf(r)]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const rows = [...groups.entries()].map(([key, runs]): DepthRow => {
    const [method, depth] = JSON.parse(key) as [string, number];
    const errors = runs
      .map((r) => r.evalRows.at(-1)?.["eval/test_accuracy"])
      .filter((v): v is number => v !== undefined && Number.isFinite(v))
      .map((a) => 100 * (1 - a));
    const steps = runs.map((r) =>
      r.train.map((row) => row["perf/step_seconds"]).filter((v): v is number => v !== undefined),
    );
    return {
      method,
      depth,
      seeds: runs.length,
      finalError: { mean: mean(errors), sem: sem(errors) },
      stepSeconds: mean(steps.map(median)),
      trainSeconds: mean(steps.map((s) => s.reduce((a, b) => a + b, 0))),
    };
  });
  return rows.sort((a, b) => a.method.localeCompare(b.method) || a.depth - b.depth);
}

/** Markdown table: depth x method, final test error and seconds per step. */
export function depthTable(rows: readonly DepthRow[]): string[][] {
  return rows.map((r) => [
    r.method,
    String(r.depth),
    String(r.seeds),
    `${formatNumber(r.finalError.mean)}${r.seeds > 1 ? ` ± ${formatNumber(r.finalError.sem)}` : ""}`,
    formatNumber(r.stepSeconds),
    formatNumber(r.trainSeconds),
  ]);
}

export const DEPTH_TABLE_HEADER = [
  "method",
  "hidden layers",
  "seeds",
  "final test error (%)",
  "s per step (median)",
  "training s",
] as const;

/** Final test error and step time against depth (log axis), one line per method. */
export function depthSpec(title: string, rows: readonly DepthRow[]): VegaLiteSpec {
  const depths = [...new Set(rows.map((r) => r.depth))].sort((a, b) => a - b);
  const points = rows.flatMap((r) => [
    {
      panel: "final test error (%)",
      series: r.method,
      x: r.depth,
      mean: r.finalError.mean,
      lo: r.finalError.mean - r.finalError.sem,
      hi: r.finalError.mean + r.finalError.sem,
      n: r.seeds,
    },
    {
      panel: "seconds per training step",
      series: r.method,
      x: r.depth,
      mean: r.stepSeconds,
      lo: r.stepSeconds,
      hi: r.stepSeconds,
      n: r.seeds,
    },
  ]);
  return pointChart(points, {
    title,
    subtitle: "error at the last evaluation, mean +/- SEM over seeds; time: median wall-clock step",
    xTitle: "hidden layers",
    yTitle: "",
    xFormat: "d",
    yFormat: FORMATS.general,
    xLog: true,
    xValues: depths,
    independentY: true,
  });
}

/** Test accuracy during training, one panel per depth, one line per method (mean +/- SEM over seeds). */
export function depthCurvesSpec(title: string, loaded: LoadedSweep): VegaLiteSpec {
  const complete = loaded.runs.filter((r) => r.status === "complete");
  const keys = new Set(complete.map((r) => JSON.stringify([r.run.method, depthOf(r)])));
  const depths = [...new Set(complete.map(depthOf))].sort((a, b) => a - b);
  const rows = [...keys].flatMap((key) => {
    const [method, depth] = JSON.parse(key) as [string, number];
    const runs = complete.filter((r) => r.run.method === method && depthOf(r) === depth);
    const series = runs.map((r) => seriesOf(r, "dni", "eval/test_accuracy", "eval"));
    const units = [...new Set(series.flatMap((s) => s.map((p) => p.unit)))].sort((a, b) => a - b);
    return units.map((unit) => {
      const values = series.flatMap((s) => s.filter((p) => p.unit === unit).map((p) => p.value));
      const m = mean(values);
      const e = sem(values);
      return {
        panel: `${depth} hidden layers`,
        series: method,
        source: "ours",
        x: unit,
        mean: m,
        lo: m - e,
        hi: m + e,
      };
    });
  });
  return bandChart(
    depths.flatMap((d) => rows.filter((r) => r.panel === `${d} hidden layers`)),
    {
      title,
      subtitle: "MNIST test accuracy during training; mean +/- SEM over seeds",
      xTitle: "step",
      yTitle: "test accuracy",
      xFormat: FORMATS.count,
      yFormat: FORMATS.decimal,
      columns: Math.min(depths.length, 3),
      width: 240,
      height: 170,
    },
  );
}
