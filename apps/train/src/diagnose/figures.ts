/**
 * The three figures of `sgprop diagnose` (issue 19) as Vega-Lite specs: MSE against batch size
 * per estimator (log-log), variance against squared bias per layer, and eq. 3's theta against the
 * grid-best theta per neuron.
 */
import { DIAGNOSIS_ESTIMATORS, type DiagnosisReport } from "@sgprop/agents";
import type { VegaLiteSpec } from "../plot/index.js";

export const DIAGNOSE_FIGURES = {
  mse: "mse-vs-batch",
  split: "variance-vs-bias2",
  theta: "eq3-theta-vs-best",
} as const;

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
const SPACE_TITLES = { raw: "raw gradients", normalised: "unit-normalised (eq. 3)" } as const;

/** MSE against n, log-log, one line per estimator; a panel per space (columns) and layer (rows). */
export function mseFigure(r: DiagnosisReport): VegaLiteSpec {
  const values = r.rows
    .filter((row) => row.mse > 0)
    .map((row) => ({ ...row, space: SPACE_TITLES[row.space] }));
  return {
    $schema: SCHEMA,
    title: {
      text: "Gradient-estimation MSE against batch size",
      subtitle: `per estimator, summed over each layer's neurons; pool of ${r.pool} samples; exact expectations (closed form, no resampling)`,
    },
    data: { values },
    facet: {
      row: { field: "layer", type: "nominal", title: null },
      column: { field: "space", type: "nominal", title: null },
    },
    spec: {
      width: 240,
      height: 150,
      mark: { type: "line", point: true },
      encoding: {
        x: { field: "batch", type: "quantitative", scale: { type: "log", base: 2 }, title: "batch size n" },
        y: { field: "mse", type: "quantitative", scale: { type: "log" }, title: "MSE" },
        color: {
          field: "estimator",
          type: "nominal",
          sort: [...DIAGNOSIS_ESTIMATORS],
          title: "estimator",
        },
      },
    },
    resolve: { scale: { y: "independent" } },
  } as VegaLiteSpec;
}

/** Per layer at the trainer's batch: variance and squared bias of each estimator (log scale). */
export function splitFigure(r: DiagnosisReport): VegaLiteSpec {
  const values = r.rows
    .filter((row) => row.batch === r.trainerBatch)
    .flatMap((row) => [
      { ...row, space: SPACE_TITLES[row.space], part: "variance", value: row.variance },
      { ...row, space: SPACE_TITLES[row.space], part: "bias^2", value: row.bias2 },
    ])
    .filter((v) => v.value > 0);
  // Bars on a log scale need a positive base: a decade below the smallest value shown.
  const base = 10 ** Math.floor(Math.log10(Math.min(...values.map((v) => v.value), 1)) - 1);
  return {
    $schema: SCHEMA,
    title: {
      text: `Variance and squared bias per layer (batch ${r.trainerBatch}, the trainer's)`,
      subtitle:
        "Lemma 1's split of the MSE; zero values (e.g. backprop's bias) are not drawn on the log scale",
    },
    data: { values },
    facet: {
      row: { field: "space", type: "nominal", title: null },
      column: { field: "estimator", type: "nominal", title: null, sort: [...DIAGNOSIS_ESTIMATORS] },
    },
    spec: {
      width: 180,
      height: 160,
      mark: { type: "bar" },
      encoding: {
        x: { field: "layer", type: "nominal", title: null },
        xOffset: { field: "part", type: "nominal" },
        y: { field: "value", type: "quantitative", scale: { type: "log" }, title: "summed over the layer" },
        y2: { datum: base },
        color: { field: "part", type: "nominal", title: null },
      },
    },
    resolve: { scale: { y: "shared" } },
  } as VegaLiteSpec;
}

/**
 * Per neuron, against the grid-best theta: eq. 3's theta in the population limit (the equation
 * itself, from perfect moments) and the trainer's live theta (eq. 3 from single batches, averaged
 * with momentum): the first checks the equation, the second what the trainer makes of it.
 */
export function thetaFigure(r: DiagnosisReport): VegaLiteSpec {
  const jitter = (unit: number) => ((unit * 2654435761) % 1000) / 1000 - 0.5;
  const values = r.thetas.flatMap((t) =>
    [
      ["eq. 3, population limit", t.eq3],
      ["live (trainer)", t.live],
    ].map(([estimate, theta]) => ({
      ...t,
      estimate,
      // A small deterministic spread: many neurons sit at exactly 0 or 1.
      bestShown: t.best + 0.006 * jitter(t.unit),
      thetaShown: (theta as number) + 0.006 * jitter(t.unit + 7),
    })),
  );
  const axis = { scale: { domain: [-0.02, 1.02] } };
  return {
    $schema: SCHEMA,
    title: {
      text: `eq. 3's theta and the live theta against the empirically best theta, per neuron (batch ${r.trainerBatch})`,
      subtitle:
        "unit-normalised space; eq. 3 from the pool's moments; live: the checkpoint's theta; best: least MSE on a 0.01 grid; dashed: equality",
    },
    width: 360,
    height: 360,
    layer: [
      {
        data: {
          values: [
            { x: 0, y: 0 },
            { x: 1, y: 1 },
          ],
        },
        mark: { type: "line", strokeDash: [6, 4], color: "grey" },
        encoding: {
          x: { field: "x", type: "quantitative", ...axis },
          y: { field: "y", type: "quantitative", ...axis },
        },
      },
      {
        data: { values },
        mark: { type: "point", filled: true, size: 18, opacity: 0.6 },
        encoding: {
          x: { field: "bestShown", type: "quantitative", title: "best theta (grid)", ...axis },
          y: { field: "thetaShown", type: "quantitative", title: "theta", ...axis },
          shape: { field: "estimate", type: "nominal", title: null, legend: { labelLimit: 400 } },
          color: { field: "layer", type: "nominal", title: null },
          tooltip: [
            { field: "unit", type: "quantitative" },
            { field: "best", type: "quantitative", format: ".2f" },
            { field: "eq3", type: "quantitative", format: ".3f" },
            { field: "live", type: "quantitative", format: ".3f" },
          ],
        },
      },
    ],
  } as VegaLiteSpec;
}
