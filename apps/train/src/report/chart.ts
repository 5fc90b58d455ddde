import type { VegaLiteSpec } from "../plot/index.js";

/**
 * Two chart builders for the paper's figures: mean +/- SEM curves (bands) and mean +/- SEM points
 * joined by lines (error bars), optionally faceted into panels. Every axis states a number format
 * (d3-format), so ticks read "1.5k", "5e-4" or "0.25", never "0.0000000012".
 */

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** d3 formats: counts in SI ("1.5k"), rates in scientific notation, bounded values in decimals. */
export const FORMATS = { count: "~s", rate: ".0e", decimal: ".2~f", general: ".3~g" } as const;

export interface BandRow {
  readonly panel: string;
  readonly series: string;
  /** "ours" (solid) or "paper's code" (dashed reference curves). */
  readonly source: string;
  readonly x: number;
  readonly mean: number;
  readonly lo: number;
  readonly hi: number;
}

export interface ChartOptions {
  readonly title: string;
  readonly subtitle: string;
  readonly xTitle: string;
  readonly yTitle: string;
  readonly xFormat: string;
  readonly yFormat: string;
  readonly xLog?: boolean;
  /** A Vega expression for the x tick labels (e.g. two learning rates per position). */
  readonly xLabelExpr?: string;
  /** Explicit x tick values. */
  readonly xValues?: readonly number[];
  readonly columns?: number;
  readonly independentY?: boolean;
  /** Fixed legend order of the series. */
  readonly seriesOrder?: readonly string[];
  readonly width?: number;
  readonly height?: number;
}

function axes(o: ChartOptions) {
  const x = {
    field: "x",
    type: "quantitative" as const,
    title: o.xTitle,
    // no "nice" extension of the domain: the axis ends at the first and last value swept
    ...(o.xLog ? { scale: { type: "log" as const, nice: false, padding: 12 } } : { scale: { zero: false } }),
    axis: {
      format: o.xFormat,
      ...(o.xLabelExpr === undefined ? {} : { labelExpr: o.xLabelExpr }),
      ...(o.xValues === undefined ? {} : { values: [...o.xValues] }),
    },
  };
  const color = {
    field: "series",
    type: "nominal" as const,
    title: null,
    // one legend for both layers, drawn as solid strokes (not the faint band)
    legend: {
      orient: "bottom" as const,
      columns: 2,
      labelLimit: 360,
      symbolType: "stroke",
      symbolStrokeWidth: 3,
      symbolOpacity: 1,
    },
    ...(o.seriesOrder === undefined ? {} : { sort: [...o.seriesOrder] }),
  };
  return { x, color };
}

function wrap(
  o: ChartOptions,
  values: readonly object[],
  layer: unknown[],
  panels: readonly string[],
): VegaLiteSpec {
  const size = { width: o.width ?? 300, height: o.height ?? 210 };
  const top = {
    $schema: SCHEMA,
    title: { text: o.title, subtitle: o.subtitle },
    data: { values: values as Record<string, unknown>[] },
    config: { axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11 } },
  };
  if (panels.length <= 1) return { ...top, ...size, layer } as unknown as VegaLiteSpec;
  return {
    ...top,
    facet: { field: "panel", type: "nominal", title: null, sort: [...panels] },
    columns: o.columns ?? Math.min(panels.length, 2),
    spec: { ...size, layer },
    ...(o.independentY ? { resolve: { scale: { y: "independent" } } } : {}),
  } as unknown as VegaLiteSpec;
}

function panelsOf(rows: readonly { panel: string }[]): string[] {
  return [...new Set(rows.map((r) => r.panel))];
}

/**
 * Mean +/- SEM bands with a line per series; reference rows dashed. The solid/dashed legend is shown
 * only when some row is a reference curve: without one it would name curves that are not there.
 */
export function bandChart(rows: readonly BandRow[], o: ChartOptions): VegaLiteSpec {
  const { x, color } = axes(o);
  const hasReference = rows.some((r) => r.source !== "ours");
  const y = { field: "mean", type: "quantitative" as const, title: o.yTitle, axis: { format: o.yFormat } };
  const dash = {
    field: "source",
    type: "nominal" as const,
    title: null,
    scale: {
      domain: ["ours", "paper's code"],
      range: [
        [1, 0],
        [5, 3],
      ],
    },
    legend: hasReference ? { orient: "bottom" as const } : null,
  };
  const layer = [
    {
      mark: { type: "area", opacity: 0.18 },
      encoding: {
        x,
        y: { field: "lo", type: "quantitative", title: o.yTitle, scale: { zero: false } },
        y2: { field: "hi" },
        color,
        detail: { field: "source" },
      },
    },
    {
      mark: { type: "line", strokeWidth: 2 },
      encoding: { x, y, color, strokeDash: dash },
    },
  ];
  return wrap(o, rows, layer, panelsOf(rows));
}

export interface PointRow {
  readonly panel: string;
  readonly series: string;
  readonly x: number;
  readonly mean: number;
  readonly lo: number;
  readonly hi: number;
  readonly n: number;
}

/** Mean +/- SEM error bars at each x, joined by lines per series. */
export function pointChart(rows: readonly PointRow[], o: ChartOptions): VegaLiteSpec {
  // ticks at the values swept (an ablation's settings), end points' error bars off the axes
  const values = o.xValues ?? [...new Set(rows.map((r) => r.x))].sort((a, b) => a - b);
  const { x: bare, color } = axes({ ...o, xValues: values });
  const x = { ...bare, scale: { ...bare.scale, padding: 16 } };
  const y = {
    field: "mean",
    type: "quantitative" as const,
    title: o.yTitle,
    scale: { zero: false },
    axis: { format: o.yFormat },
  };
  const layer = [
    {
      mark: { type: "rule", strokeWidth: 1.5 },
      encoding: { x, y: { field: "lo", type: "quantitative" }, y2: { field: "hi" }, color },
    },
    {
      mark: { type: "line", strokeWidth: 2, point: { size: 50 } },
      encoding: { x, y, color, tooltip: [{ field: "n", title: "seeds" }] },
    },
  ];
  return wrap(o, rows, layer, panelsOf(rows));
}
