import type { TrainKind } from "../options/presets.js";
import type { VegaLiteSpec } from "../plot/index.js";
import { headlineMetrics, unitColumn, unitName } from "./metrics.js";

interface Point {
  unit: number;
  metric: string;
  value: number;
}

/** Plotted metrics present in the data; a `*` pattern expands to the matching columns. */
export function expandMetrics(patterns: readonly string[], columns: readonly string[]): string[] {
  return patterns.flatMap((p) =>
    p.endsWith("*") ? columns.filter((c) => c.startsWith(p.slice(0, -1))) : columns.includes(p) ? [p] : [],
  );
}

/** One small panel per headline metric of a single run. */
export function runCurvesSpec(
  kind: TrainKind,
  title: string,
  train: readonly Record<string, number>[],
  evalRows: readonly Record<string, number>[],
): VegaLiteSpec {
  const unit = unitColumn(kind);
  const trainCols = Object.keys(train[0] ?? {});
  const evalCols = Object.keys(evalRows[0] ?? {});
  const patterns = headlineMetrics(kind).plotted;
  const points: Point[] = [];
  const add = (rows: readonly Record<string, number>[], metrics: string[]) => {
    for (const row of rows) {
      for (const metric of metrics) {
        const value = row[metric];
        const u = row[unit];
        if (value !== undefined && Number.isFinite(value) && u !== undefined)
          points.push({ unit: u, metric, value });
      }
    }
  };
  add(
    evalRows,
    expandMetrics(
      patterns,
      evalCols.filter((c) => c !== unit),
    ),
  );
  add(
    train,
    expandMetrics(
      patterns,
      trainCols.filter((c) => c !== unit),
    ),
  );
  const panelOf = (m: string) => (m.startsWith("sgprop/theta_mean_") ? "sgprop/theta_mean (per layer)" : m);
  const values = points.map((p) => ({ ...p, panel: panelOf(p.metric) }));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    data: { values },
    facet: { field: "panel", type: "nominal", title: null, sort: null },
    columns: 3,
    resolve: { scale: { y: "independent" } },
    spec: {
      width: 260,
      height: 160,
      mark: { type: "line", strokeWidth: 1.5 },
      encoding: {
        x: { field: "unit", type: "quantitative", title: unitName(kind) },
        y: { field: "value", type: "quantitative", title: null, scale: { zero: false } },
        color: {
          field: "metric",
          type: "nominal",
          title: null,
          legend: { orient: "bottom", columns: 4, labelLimit: 300 },
        },
      },
    },
  };
}
