/**
 * What `sgprop diagnose` writes and prints for any diagnosis report (bandit or POPGym):
 * diagnose.csv (every row, per neuron, layer and net), diagnose.json (the layer and net rows,
 * per-neuron thetas, the target checks, labels and provenance), the three figures, and a summary
 * on the terminal with a loud warning where the pool is too small.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  DIAGNOSIS_ESTIMATORS,
  DIAGNOSIS_LABELS,
  DIAGNOSIS_SPACES,
  type DiagnosisReport,
  type DiagnosisRow,
  reportRow,
} from "@sgprop/agents";
import { stringify } from "csv-stringify/sync";
import { renderFigure } from "../plot/index.js";
import { formatNumber, textTable } from "../run/metrics.js";
import { DIAGNOSE_FIGURES, mseFigure, splitFigure, thetaFigure } from "./figures.js";

export const DIAGNOSE_FILES = { csv: "diagnose.csv", json: "diagnose.json" } as const;

const CSV_COLUMNS = [
  "space",
  "estimator",
  "batch",
  "layer",
  "unit",
  "theta",
  "mse",
  "variance",
  "bias2",
] as const;

/** Provenance written next to the numbers. */
export interface DiagnoseContext {
  readonly kind: string;
  readonly runDir: string;
  readonly checkpoint: string;
  readonly completed: number;
  readonly seed: number;
  readonly seconds: number;
}

const finite = (_: string, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v);

export async function writeDiagnosis(
  dir: string,
  r: DiagnosisReport,
  ctx: DiagnoseContext,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const all: DiagnosisRow[] = [...r.rows, ...r.neuronRows];
  const csv = stringify(
    all.map((row) =>
      CSV_COLUMNS.map((c) => (typeof row[c] === "number" && !Number.isFinite(row[c]) ? "" : row[c])),
    ),
    { header: true, columns: [...CSV_COLUMNS] },
  );
  await writeFile(join(dir, DIAGNOSE_FILES.csv), csv);
  const json = {
    command: "sgprop diagnose",
    ...ctx,
    pool: r.pool,
    trainerBatch: r.trainerBatch,
    batchSizes: r.batchSizes,
    sampleDescription: r.sampleDescription,
    method: r.method,
    labels: DIAGNOSIS_LABELS,
    targetChecks: r.targetChecks,
    rows: r.rows,
    thetas: r.thetas,
  };
  await writeFile(join(dir, DIAGNOSE_FILES.json), `${JSON.stringify(json, finite, 1)}\n`);
  const written: string[] = [DIAGNOSE_FILES.csv, DIAGNOSE_FILES.json];
  for (const [name, spec] of [
    [DIAGNOSE_FIGURES.mse, mseFigure(r)],
    [DIAGNOSE_FIGURES.split, splitFigure(r)],
    [DIAGNOSE_FIGURES.theta, thetaFigure(r)],
  ] as const) {
    await writeFile(join(dir, `${name}.vl.json`), `${JSON.stringify(spec, null, 1)}\n`);
    await renderFigure(spec, join(dir, name));
    written.push(`${name}.{svg,png,vl.json}`);
  }
  return written;
}

/** The terminal summary: the net's errors at the trainer's batch, thetas, and the target checks. */
export function summaryLines(r: DiagnosisReport): string[] {
  const n = r.trainerBatch;
  const lines: string[] = [];
  for (const space of DIAGNOSIS_SPACES) {
    lines.push("", `${DIAGNOSIS_LABELS.spaces[space]}; whole net, batch ${n} (the trainer's):`);
    lines.push(
      textTable(
        ["estimator", "MSE", "variance", "bias^2", "theta (mean)"],
        DIAGNOSIS_ESTIMATORS.map((e) => {
          const row = reportRow(r, space, e, n);
          return [
            e,
            formatNumber(row.mse),
            formatNumber(row.variance),
            formatNumber(row.bias2),
            formatNumber(row.theta),
          ];
        }),
      ),
    );
  }
  const mean = (f: (t: DiagnosisReport["thetas"][number]) => number) =>
    r.thetas.reduce((s, t) => s + f(t), 0) / Math.max(1, r.thetas.length);
  const meanAbs = mean((t) => Math.abs(t.eq3 - t.best));
  lines.push(
    "",
    `theta per neuron (normalised space, batch ${n}): live mean ${formatNumber(mean((t) => t.live))}, ` +
      `eq. 3 mean ${formatNumber(mean((t) => t.eq3))}, grid-best mean ${formatNumber(mean((t) => t.best))}, ` +
      `mean |eq. 3 - best| ${formatNumber(meanAbs)}`,
  );
  const net = r.targetChecks.filter((c) => c.layer === "net");
  for (const c of net) {
    lines.push(
      `target (${c.space}): standard error ${formatNumber(c.standardError)}, variance ${formatNumber(c.targetVariance)} = ` +
        `${(100 * c.ratio).toFixed(1)}% of the smallest reported MSE (${formatNumber(c.smallestMse)})`,
    );
  }
  const bad = r.targetChecks.filter((c) => !c.ok);
  if (bad.length > 0) {
    const needed = Math.max(...bad.map((c) => c.poolNeeded));
    lines.push(
      "",
      `WARNING: the pool of ${r.pool} samples is too small: the target's sampling variance is 10% or more of the smallest MSE in ${bad
        .map((c) => `${c.space}/${c.layer} (${(100 * c.ratio).toFixed(0)}%)`)
        .join(", ")}.`,
      `WARNING: the squared biases there are uncertain; run again with --pool ${needed} or more.`,
    );
  } else {
    lines.push(`target check: passed in every layer and space (variance < 10% of the smallest MSE)`);
  }
  lines.push("", r.method);
  return lines;
}
