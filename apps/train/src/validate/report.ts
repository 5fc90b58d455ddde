import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TrainKind } from "../options/presets.js";
import { renderFigure, type VegaLiteSpec } from "../plot/index.js";
import { formatNumber, textTable } from "../run/metrics.js";
import { MARGIN, METRIC_LABELS, type MethodVerdict } from "./compare.js";

/** One point of a curve in the "ours over theirs" figure. */
export interface CurvePoint {
  readonly source: "ours" | "reference";
  readonly method: string;
  readonly seed: number;
  readonly unit: number;
  readonly value: number;
}

export interface KindResult {
  readonly kind: TrainKind;
  readonly verdicts: readonly MethodVerdict[];
  readonly curves: readonly CurvePoint[];
  /** Runs of ours that were not complete (their numbers are left out). */
  readonly incomplete: readonly string[];
}

const f3 = (x: number) => formatNumber(Number(x.toFixed(3)));

/** The per-method table: our mean (per-seed values), the reference's seeds, the allowed range. */
export function verdictTable(result: KindResult): string {
  const rows: string[][] = [];
  for (const v of result.verdicts) {
    for (const m of v.metrics) {
      rows.push([
        `${v.method}${v.gating ? "" : " (not gating)"}`,
        METRIC_LABELS[result.kind][m.metric],
        `${f3(m.ours)} (${m.oursPerSeed.map(f3).join(" / ")})`,
        m.reference.map(f3).join(" / "),
        `${f3(m.low)} .. ${f3(m.high)}`,
        m.pass ? "PASS" : "FAIL",
      ]);
    }
    if (v.solved !== undefined) {
      rows.push([
        v.method,
        "runs with last-50 success > 0.5",
        `${v.solved.ours} of ${v.oursSeeds.length}`,
        `${v.solved.reference} of ${v.referenceSeeds.length}`,
        "",
        "",
      ]);
    }
  }
  return textTable(
    ["method", "metric", "ours: mean of seeds (per seed)", "reference seeds", "allowed", "verdict"],
    rows,
  );
}

export function kindPasses(result: KindResult): boolean {
  return result.incomplete.length === 0 && result.verdicts.every((v) => !v.gating || v.pass);
}

/** Caveats printed under every verdict. */
export function caveats(result: KindResult): string[] {
  const counts = result.verdicts.map((v) => v.referenceSeeds.length);
  const low = Math.min(...counts);
  const high = Math.max(...counts);
  const refSeeds = low === high ? `${low}` : `${low}-${high}`;
  const lines = [
    `Rule: the mean over our seeds lies within the reference seeds' range widened by ${MARGIN} on each side.`,
    `Statistical power is low: the reference has ${refSeeds} seeds per method, so its range is a rough estimate of its spread; a PASS says "not distinguishable", not "equal".`,
  ];
  if (result.incomplete.length > 0)
    lines.push(
      `Incomplete runs (left out, verdict FAIL until they finish): ${result.incomplete.join(", ")}.`,
    );
  return lines;
}

/** Our seeds (thin lines) over the reference's (thick, dashed), one panel per method. */
function curvesSpec(result: KindResult): VegaLiteSpec {
  const popgym = result.kind === "popgym";
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    data: { values: result.curves as unknown as Record<string, unknown>[] },
    facet: { column: { field: "method", type: "nominal", title: null } },
    spec: {
      width: 260,
      height: 200,
      transform: popgym
        ? [
            {
              window: [{ op: "mean", field: "value", as: "smoothed" }],
              frame: [-9, 0],
              groupby: ["source", "method", "seed"],
              sort: [{ field: "unit" }],
            },
          ]
        : [{ calculate: "datum.value", as: "smoothed" }],
      mark: { type: "line", strokeWidth: 1.2 },
      encoding: {
        x: { field: "unit", type: "quantitative", title: popgym ? "batch" : "step" },
        y: {
          field: "smoothed",
          type: "quantitative",
          title: popgym ? "success rate (10-batch mean)" : "eval reward",
          scale: { domain: [0, 1] },
        },
        color: { field: "source", type: "nominal", title: null, legend: { orient: "top" } },
        strokeDash: { field: "source", type: "nominal", title: null, legend: { orient: "top" } },
        detail: { field: "seed", type: "nominal" },
        opacity: { value: 0.75 },
      },
    },
  } as VegaLiteSpec;
}

/** Writes `<kind>.txt` (the table), `<kind>.svg`/`.png` (the curves) into `dir`; returns the table text. */
export async function writeKindResult(result: KindResult, dir: string): Promise<string> {
  const text = [
    `${result.kind}: ${kindPasses(result) ? "PASS" : "FAIL"}`,
    verdictTable(result),
    ...caveats(result),
  ].join("\n");
  writeFileSync(join(dir, `${result.kind}.txt`), `${text}\n`);
  await renderFigure(curvesSpec(result), join(dir, result.kind));
  return text;
}
