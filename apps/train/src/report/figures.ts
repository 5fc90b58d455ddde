import type { TrainKind } from "../options/presets.js";
import type { VegaLiteSpec } from "../plot/index.js";
import { unitName } from "../run/metrics.js";
import { type GroupStats, meanCurve, seriesOf } from "./aggregate.js";
import { FORMATS } from "./chart.js";
import type { LoadedRun } from "./load.js";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

function lrLabel(lr: number): string {
  return lr.toExponential(0).replace("e-", "e-");
}

type FacetLayers = Extract<Extract<VegaLiteSpec, { facet: unknown }>["spec"], { layer: unknown }>["layer"];

/** One 320x220 panel per setting, side by side, each drawing `layer`. */
function settingColumns(values: Record<string, unknown>[], layer: FacetLayers) {
  return {
    data: { values },
    facet: { column: { field: "setting", type: "nominal" as const, title: null } },
    spec: { width: 320, height: 220, layer },
  };
}

/** Figures 3/5/7: mean +/- SEM over seeds per method (at its best learning rate), one panel per setting. */
export function curvesSpec(
  kind: TrainKind,
  title: string,
  groups: readonly GroupStats[],
  metric: string,
  source: "train" | "eval",
): VegaLiteSpec {
  const values = groups.flatMap((g) =>
    meanCurve(g.runs.map((r) => seriesOf(r, kind, metric, source))).map((p) => ({
      setting: g.setting,
      method: `${g.method} (lr ${lrLabel(g.learningRate)})`,
      unit: p.unit,
      mean: p.mean,
      lo: p.mean - p.sem,
      hi: p.mean + p.sem,
      n: p.n,
    })),
  );
  const x = {
    field: "unit",
    type: "quantitative" as const,
    title: unitName(kind),
    axis: { format: FORMATS.count },
  };
  const color = { field: "method", type: "nominal" as const, title: "method", legend: { labelLimit: 400 } };
  return {
    $schema: SCHEMA,
    title: {
      text: title,
      subtitle: "mean +/- SEM over seeds; each method at its best learning rate (by AUC)",
    },
    ...settingColumns(values, [
      {
        mark: { type: "area", opacity: 0.2 },
        encoding: {
          x,
          y: { field: "lo", type: "quantitative", title: metric },
          y2: { field: "hi" },
          color,
        },
      },
      {
        mark: { type: "line", strokeWidth: 1.8 },
        encoding: {
          x,
          y: { field: "mean", type: "quantitative", title: metric, axis: { format: FORMATS.general } },
          color,
        },
      },
    ]),
  };
}

/** Figures 6a/7: area under the curve against the learning rate (log axis), mean +/- SEM over seeds. */
export function lrSensitivitySpec(
  title: string,
  groups: readonly GroupStats[],
  metric: string,
): VegaLiteSpec {
  const values = groups.map((g) => ({
    setting: g.setting,
    method: g.method,
    learningRate: g.learningRate,
    auc: g.auc.mean,
    lo: g.auc.mean - g.auc.sem,
    hi: g.auc.mean + g.auc.sem,
  }));
  const x = {
    field: "learningRate",
    type: "quantitative" as const,
    scale: { type: "log" as const },
    title: "learning rate",
    axis: { format: FORMATS.rate },
  };
  const color = { field: "method", type: "nominal" as const };
  return {
    $schema: SCHEMA,
    title: { text: title, subtitle: `AUC = mean of ${metric} over training; mean +/- SEM over seeds` },
    ...settingColumns(values, [
      {
        mark: { type: "rule" },
        encoding: { x, y: { field: "lo", type: "quantitative" }, y2: { field: "hi" }, color },
      },
      {
        mark: { type: "line", point: true },
        encoding: {
          x,
          y: {
            field: "auc",
            type: "quantitative",
            title: `AUC of ${metric}`,
            scale: { zero: false },
            axis: { format: FORMATS.general },
          },
          color,
        },
      },
    ]),
  };
}

/** Theta dynamics: mean theta over seeds (POPGym: mean with p10-p90 band; bandit: one curve per layer). */
export function thetaSpec(
  kind: TrainKind,
  title: string,
  runs: readonly LoadedRun[],
): VegaLiteSpec | undefined {
  const sg = runs.filter((r) => r.status === "complete" && r.run.options.algorithm === "sgprop");
  if (sg.length === 0) return undefined;
  const groups = new Map<string, LoadedRun[]>();
  for (const r of sg) {
    const key = `${r.run.method} lr ${lrLabel(Number(r.run.options.learningRate))}${r.setting === "all" ? "" : ` | ${r.setting}`}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const values: Record<string, unknown>[] = [];
  for (const [panel, list] of groups) {
    const columns = Object.keys(list[0]?.train[0] ?? {});
    const curves =
      kind === "popgym"
        ? [
            ["mean", "sgprop/theta_mean"],
            ["p10", "sgprop/theta_p10"],
            ["p90", "sgprop/theta_p90"],
          ]
        : columns
            .filter((c) => c.startsWith("sgprop/theta_mean_"))
            .map((c) => [`layer ${c.slice("sgprop/theta_mean_".length)}`, c]);
    for (const [label, metric] of curves as [string, string][]) {
      for (const p of meanCurve(list.map((r) => seriesOf(r, kind, metric, "train")))) {
        values.push({ panel, curve: label, unit: p.unit, theta: p.mean });
      }
    }
  }
  if (values.length === 0) return undefined;
  return {
    $schema: SCHEMA,
    title: {
      text: title,
      subtitle:
        kind === "popgym"
          ? "mean over seeds of the per-neuron theta mean, 10th and 90th percentiles"
          : "mean over seeds of the per-layer mean theta",
    },
    data: { values },
    facet: { field: "panel", type: "nominal", title: null },
    columns: 3,
    spec: {
      width: 260,
      height: 180,
      mark: { type: "line", strokeWidth: 1.5 },
      encoding: {
        x: { field: "unit", type: "quantitative", title: unitName(kind), axis: { format: FORMATS.count } },
        y: {
          field: "theta",
          type: "quantitative",
          title: "theta",
          scale: { zero: false },
          axis: { format: FORMATS.decimal },
        },
        color: { field: "curve", type: "nominal", title: null },
      },
    },
  };
}
