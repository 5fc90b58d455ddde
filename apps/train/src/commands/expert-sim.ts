import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  ExpertSimConfigError,
  type ExpertSimOptions,
  type ExpertSimRow,
  FEEDBACK_CASE_LABELS,
  ROW_FIELDS,
  resolveOptions,
  runExpertSim,
  summarizeAgreement,
} from "@sgprop/expert-sim";
import { stringify } from "csv-stringify/sync";
import { renderFigure, type VegaLiteSpec } from "../plot/index.js";

/**
 * Options of `sgprop expert-sim`. Every simulation field is optional and defaults to the paper's
 * value (PAPER_DEFAULTS in @sgprop/expert-sim: d 4..12, k 2..4, m 5, n 1..4, 20 trials,
 * sigma = p = tau = 0.5, 500 bootstrap resamples, seed 0).
 */
export interface ExpertSimCliOptions extends Partial<ExpertSimOptions> {
  /** Directory for results.csv, results.json and the figure files (created if missing). */
  readonly outDir: string;
  /** Which n the figure shows (default: the smallest swept n, as in the paper's Figure 4). */
  readonly plotN?: number;
  /** Print only the summary, not one line per cell. */
  readonly quiet?: boolean;
}

/** Base name of the figure files inside the output directory (.svg, .png, .vl.json). */
export const EXPERT_SIM_FIGURE = "ratio-vs-d-minus-k";

/**
 * The paper's Figure 4 as one Vega-Lite spec: one panel per feedback case, MSE ratio (log2 axis)
 * against d - k, a colour per k with bootstrap error bars, and the theory line 2^(d-k).
 */
export function expertSimFigureSpec(rows: readonly ExpertSimRow[], n: number, level = 0.95): VegaLiteSpec {
  const shown = rows.filter((r) => r.n === n && Number.isFinite(r.ratio));
  const values = shown.map((r) => ({
    case: FEEDBACK_CASE_LABELS[r.case],
    d: r.d,
    k: `k = ${r.k}`,
    dMinusK: r.d - r.k,
    ratio: r.ratio,
    ratioCiLow: Number.isFinite(r.ratioCiLow) ? r.ratioCiLow : r.ratio,
    ratioCiHigh: Number.isFinite(r.ratioCiHigh) ? r.ratioCiHigh : r.ratio,
    theory: r.theory,
  }));
  const x = { field: "dMinusK", type: "quantitative" as const, title: "d - k", axis: { tickMinStep: 1 } };
  const y = {
    type: "quantitative" as const,
    scale: { type: "log" as const, base: 2 },
    title: "MSE ratio (backprop / synthetic)",
  };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: `Gradient MSE ratio vs d - k (n = ${n}, m = ${shown[0]?.m ?? "?"}, ${shown[0]?.trials ?? "?"} trials${
        (shown[0]?.problems ?? 1) > 1 ? ` x ${shown[0]?.problems} problems` : ""
      })`,
      subtitle: `dots: simulation with ${Math.round(level * 100)}% bootstrap interval; dashed line: Theorem 5, 2^(d-k)`,
    },
    data: { values },
    facet: {
      column: { field: "case", type: "nominal", title: null, sort: Object.values(FEEDBACK_CASE_LABELS) },
    },
    spec: {
      width: 260,
      height: 240,
      layer: [
        {
          mark: { type: "line", strokeDash: [6, 4], color: "grey" },
          encoding: { x, y: { ...y, field: "theory" } },
        },
        {
          mark: { type: "rule", strokeWidth: 2 },
          encoding: {
            x,
            y: { ...y, field: "ratioCiLow" },
            y2: { field: "ratioCiHigh" },
            color: { field: "k", type: "nominal", title: null },
          },
        },
        {
          mark: { type: "point", filled: true, size: 45 },
          encoding: {
            x,
            y: { ...y, field: "ratio" },
            color: { field: "k", type: "nominal", title: null },
            tooltip: [
              { field: "d", type: "quantitative" },
              { field: "k", type: "nominal" },
              { field: "ratio", type: "quantitative", format: ".3f" },
              { field: "theory", type: "quantitative" },
            ],
          },
        },
      ],
    },
    resolve: { scale: { y: "shared" } },
  } as VegaLiteSpec;
}

function formatRow(r: ExpertSimRow): string {
  return (
    `${r.case.padEnd(10)} d=${String(r.d).padStart(2)} k=${r.k} n=${r.n} ` +
    `mse_bp=${r.mseBackprop.toExponential(3)} mse_sg=${r.mseSynthetic.toExponential(3)} ` +
    `ratio=${r.ratio.toFixed(3)} [${r.ratioCiLow.toFixed(3)}, ${r.ratioCiHigh.toFixed(3)}] theory=${r.theory}`
  );
}

/**
 * `sgprop expert-sim`: runs the sweep, writes `results.csv`, `results.json` and the figure
 * (`ratio-vs-d-minus-k.{svg,png,vl.json}`) into `outDir`. Returns 0 on success, 2 for invalid
 * options (message names the option and value), 1 if writing or rendering failed.
 */
export async function expertSimCommand(
  opts: ExpertSimCliOptions,
  print: (line: string) => void = (line) => console.log(line),
): Promise<number> {
  const { outDir, plotN, quiet, ...simOptions } = opts;
  let options: ExpertSimOptions;
  try {
    options = resolveOptions(simOptions);
    if (plotN !== undefined && !options.sampleSizes.includes(plotN)) {
      throw new ExpertSimConfigError(
        "plotN",
        plotN,
        `must be one of the swept n ${JSON.stringify(options.sampleSizes)}`,
      );
    }
  } catch (error) {
    if (error instanceof ExpertSimConfigError) {
      print(`sgprop expert-sim: ${error.message}`);
      return 2;
    }
    throw error;
  }

  const result = runExpertSim(options, quiet ? undefined : (row) => print(formatRow(row)));
  for (const { d, k } of result.skipped) print(`skipped d=${d}, k=${k}: k must not exceed d`);
  const agreement = summarizeAgreement(result.rows);
  const figureN = plotN ?? Math.min(...options.sampleSizes);

  const dir = resolve(outDir);
  try {
    await mkdir(dir, { recursive: true });
    const csv = stringify(
      result.rows.map((r) => ROW_FIELDS.map((f) => r[f])),
      { header: true, columns: [...ROW_FIELDS] },
    );
    await writeFile(join(dir, "results.csv"), csv);
    const json = {
      command: "sgprop expert-sim",
      options: result.options,
      seconds: result.seconds,
      node: process.version,
      skipped: result.skipped,
      agreement,
      rows: result.rows,
    };
    // NaN (no interval with one trial) is not JSON; null keeps the row shape.
    await writeFile(
      join(dir, "results.json"),
      `${JSON.stringify(json, (_, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2)}\n`,
    );
    const spec = expertSimFigureSpec(result.rows, figureN, options.confidenceLevel);
    await writeFile(join(dir, `${EXPERT_SIM_FIGURE}.vl.json`), `${JSON.stringify(spec, null, 2)}\n`);
    await renderFigure(spec, join(dir, EXPERT_SIM_FIGURE));
  } catch (error) {
    print(`sgprop expert-sim: could not write results to ${dir}: ${(error as Error).message}`);
    return 1;
  }

  print(`expert-sim: ${result.rows.length} cells in ${result.seconds.toFixed(1)} s`);
  for (const a of agreement) {
    print(
      `  ${a.case.padEnd(10)} ratio/2^(d-k) = ${a.meanRatioOverTheory.toFixed(3)} (geometric mean), ` +
        `slope of log2 ratio on d-k = ${a.log2Slope.toFixed(3)}, ` +
        `theory inside the ${Math.round(options.confidenceLevel * 100)}% interval in ${a.covered}/${a.cells} cells`,
    );
  }
  print(`wrote ${join(dir, "results.csv")}, results.json and ${EXPERT_SIM_FIGURE}.{svg,png,vl.json}`);
  return 0;
}
