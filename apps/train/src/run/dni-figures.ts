import { readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { renderFigure, type VegaLiteSpec } from "../plot/index.js";
import { readCheckpointIndex } from "./checkpoints.js";
import { runCurvesSpec } from "./curves.js";
import { RUN_FILES } from "./layout.js";
import type { RunConfig } from "./prepare.js";

type Row = Readonly<Record<string, number>>;

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** The paper's Table 2 entries quoted in issue 22 (difference to the optimum with SG); others unknown here. */
export const PAPER_TABLE2: Readonly<Record<string, string>> = {
  "logistic linear k2 shallow": "0.038",
  "logistic linear k100 shallow": "0.086",
  "logistic noisy k100 shallow": "0.0044",
  mse: "<= 0.00004",
};

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toFixed(4) : v.toExponential(2);
}

function meanStd(values: readonly number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const v = values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, values.length - 1);
  return { mean, std: Math.sqrt(v) };
}

/** Table 2 as markdown: per cell, mean (std) over data sets of final loss minus the optimum. */
export function table2Markdown(rows: readonly Row[], steps: number, learningRate: number): string {
  const kinds = ["linear", "noisy", "random"];
  const losses = ["mse", "logistic"];
  const lines = [
    `# Table 2: final loss minus the global optimum (mean (std) over data sets), after ${steps} steps of Adam ${learningRate}`,
    "",
    "SG - backprop: the two final losses' difference on the same data set (mean (std)).",
    "",
    "| loss | data | k | model | data sets | SG | backprop | SG - backprop | paper (SG) |",
    "| ---- | ---- | -: | ----- | --------: | -: | -------: | ------------: | ---------: |",
  ];
  const ks = [...new Set(rows.map((r) => r["table2/k"] as number))];
  for (const [li, loss] of losses.entries()) {
    for (const [ki, kind] of kinds.entries()) {
      for (const k of ks) {
        for (const [di, depth] of ["shallow", "deep"].entries()) {
          const cell = rows.filter(
            (r) =>
              r["table2/log_loss"] === li &&
              r["table2/data"] === ki &&
              r["table2/k"] === k &&
              r["table2/deep"] === di,
          );
          if (cell.length === 0) continue;
          const sg = meanStd(cell.map((r) => r["table2/sg_gap"] as number));
          const bp = meanStd(cell.map((r) => r["table2/backprop_gap"] as number));
          const diff = meanStd(
            cell.map((r) => (r["table2/sg_loss"] as number) - (r["table2/backprop_loss"] as number)),
          );
          const paper =
            loss === "mse"
              ? PAPER_TABLE2.mse
              : (PAPER_TABLE2[`logistic ${kind} k${k} ${depth}`] ?? "(not quoted)");
          lines.push(
            `| ${loss === "mse" ? "MSE" : "log"} | ${kind} | ${k} | ${depth} | ${cell.length} | ${fmt(sg.mean)} (${fmt(sg.std)}) | ${fmt(bp.mean)} (${fmt(bp.std)}) | ${fmt(diff.mean)} (${fmt(diff.std)}) | ${paper} |`,
          );
        }
      }
    }
  }
  return `${lines.join("\n")}\n`;
}

function table2Spec(title: string, rows: readonly Row[]): VegaLiteSpec {
  const kinds = ["linear", "noisy", "random"];
  const values = rows.flatMap((r) =>
    (["sg", "backprop"] as const).map((m) => ({
      cell: `${r["table2/log_loss"] === 1 ? "log" : "MSE"} ${kinds[r["table2/data"] as number]} k${r["table2/k"]} ${r["table2/deep"] === 1 ? "deep" : "shallow"}`,
      method: m,
      gap: Math.max(1e-12, Math.abs(r[`table2/${m}_gap`] as number)),
    })),
  );
  return {
    $schema: SCHEMA,
    title,
    data: { values },
    width: 560,
    height: 260,
    mark: { type: "point", filled: true, opacity: 0.7 },
    encoding: {
      x: { field: "cell", type: "nominal", title: null, sort: null, axis: { labelAngle: -40 } },
      y: {
        field: "gap",
        type: "quantitative",
        scale: { type: "log" },
        title: "|final loss - optimum| (one point per data set)",
      },
      color: { field: "method", type: "nominal", title: null },
      xOffset: { field: "method" },
    },
  };
}

function criticalSpec(title: string, rows: readonly Row[]): VegaLiteSpec {
  const path = rows.flatMap((r) => [
    {
      method: "SG (constant c)",
      step: r["charts/step"],
      a: r["critical/sg_a"],
      b: r["critical/sg_b"],
      loss: r["critical/sg_loss"],
    },
    {
      method: "backprop",
      step: r["charts/step"],
      a: r["critical/backprop_a"],
      b: r["critical/backprop_b"],
      loss: r["critical/backprop_loss"],
    },
  ]);
  return {
    $schema: SCHEMA,
    title,
    data: { values: path },
    hconcat: [
      {
        width: 300,
        height: 260,
        mark: { type: "line", point: { size: 12 } },
        encoding: {
          x: { field: "a", type: "quantitative", title: "a" },
          y: { field: "b", type: "quantitative", title: "b" },
          order: { field: "step" },
          color: { field: "method", type: "nominal", title: null },
        },
      },
      {
        width: 300,
        height: 260,
        mark: "line",
        encoding: {
          x: { field: "step", type: "quantitative" },
          y: { field: "loss", type: "quantitative", title: "sum |a x + b|" },
          color: { field: "method", type: "nominal", title: null },
        },
      },
    ],
  };
}

function criticalMarkdown(rows: readonly Row[]): string {
  const last = rows.at(-1) ?? {};
  const a = last["critical/sg_a"] as number;
  return [
    "# Critical-point example (Proposition 1)",
    "",
    "| method | a | b | c | loss |",
    "| ------ | -: | -: | -: | ---: |",
    `| SG (constant c) | ${fmt(a)} | ${fmt(last["critical/sg_b"] as number)} | ${fmt(last["critical/sg_c"] as number)} | ${fmt(last["critical/sg_loss"] as number)} |`,
    `| backprop | ${fmt(last["critical/backprop_a"] as number)} | ${fmt(last["critical/backprop_b"] as number)} | | ${fmt(last["critical/backprop_loss"] as number)} |`,
    "",
    `Analytic SG critical set: a = a0 = ${fmt(a)}, |b| < |a0|, c = 0, loss 6|a0| = ${fmt(6 * Math.abs(a))}; the true dL/da there is ${fmt(6 * Math.sign(a))}, so it is not a critical point of the loss (whose minimum is 0 at a = b = 0).`,
    "",
  ].join("\n");
}

async function surfaceSpec(dir: string, config: RunConfig, title: string): Promise<VegaLiteSpec | undefined> {
  const index = readCheckpointIndex(dir);
  const last = index?.at(-1);
  if (last === undefined) return undefined;
  const meta = JSON.parse(
    readFileSync(join(dir, RUN_FILES.checkpoints, last.dir, "checkpoint.json"), "utf8"),
  ) as {
    state: { sg: { a?: number[]; b?: number[]; c: number[] }[] }[];
  };
  const dni = await import("@sgprop/dni");
  const data = dni.surfaceData(Number(config.options.seed ?? 0));
  const y: [number, number] = [data.y[0] as number, data.y[1] as number];
  const modules = dni.SURFACE_CONDITIONINGS.map((conditioning, i) => ({
    conditioning,
    sg: meta.state[i]?.sg[0] ?? { c: [0, 0] },
  }));
  const cells = dni.surfaceGrid(modules, y);
  return {
    $schema: SCHEMA,
    title: `${title}; label y = (${y[0].toFixed(2)}, ${y[1].toFixed(2)})`,
    data: { values: cells },
    facet: { field: "panel", type: "nominal", title: null, sort: null },
    columns: 2,
    resolve: { scale: { color: "independent" } },
    spec: {
      width: 220,
      height: 220,
      mark: "rect",
      encoding: {
        x: { field: "h1", type: "ordinal", title: "h1", axis: { format: ".1f", labelOverlap: true } },
        y: {
          field: "h2",
          type: "ordinal",
          title: "h2",
          sort: "descending",
          axis: { format: ".1f", labelOverlap: true },
        },
        color: { field: "loss", type: "quantitative", title: "loss - min", scale: { scheme: "viridis" } },
      },
    },
  };
}

const REPR_METHODS = ["backprop", "sg_middle", "sg_every", "dfa"];
const REPR_LABELS: Readonly<Record<string, string>> = {
  backprop: "backprop",
  sg_middle: "one SG (middle)",
  sg_every: "SG everywhere",
  dfa: "DFA",
};

/** Probe results per method and layer (Fig. 8's two panels as a table). */
function probesMarkdown(row: Row): string {
  const layers = Math.max(
    0,
    ...Object.keys(row)
      .filter((k) => k.startsWith("repr/probe_accuracy/"))
      .map((k) => Number(k.split("/").at(-1))),
  );
  const head = Array.from({ length: layers }, (_, i) =>
    i + 1 === layers ? `${i + 1} (output)` : `${i + 1}`,
  );
  const table = (metric: string, what: string) => [
    `## ${what}`,
    "",
    `| method | ${head.join(" | ")} |`,
    `| ------ | ${head.map(() => "-:").join(" | ")} |`,
    ...REPR_METHODS.map(
      (m) =>
        `| ${REPR_LABELS[m]} | ${Array.from({ length: layers }, (_, i) => fmt(row[`repr/${metric}/${m}/${i + 1}`] ?? Number.NaN)).join(" | ")} |`,
    ),
    "",
  ];
  return [
    "# Representations per layer (Figs. 7-8)",
    "",
    ...table(
      "probe_accuracy",
      "Linear classifier probe: test accuracy on the 400 RDM points (ridge on 1000 training points)",
    ),
    ...table("input_r2", "Linear input-regression probe: R^2 of the pixels from the layer"),
  ].join("\n");
}

async function rdmSpec(dir: string, title: string): Promise<VegaLiteSpec | undefined> {
  const last = readCheckpointIndex(dir)?.at(-1);
  if (last === undefined) return undefined;
  const { readCheckpointDir } = await import("@sgprop/agents");
  const { tensors } = await readCheckpointDir(join(dir, RUN_FILES.checkpoints, last.dir));
  const values: { method: string; layer: string; i: number; j: number; d: number }[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    const [kind, method, layer] = name.split("/");
    if (kind !== "rdm" || method === undefined || layer === undefined) continue;
    const size = t.shape[0] as number;
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) {
        values.push({
          method: REPR_LABELS[method] ?? method,
          layer: `layer ${layer}`,
          i,
          j,
          d: t.data[i * size + j] as number,
        });
      }
    }
  }
  if (values.length === 0) return undefined;
  return {
    $schema: SCHEMA,
    title: `${title}: RDMs (1 - correlation) of 400 test digits sorted by label`,
    data: { values },
    facet: {
      row: {
        field: "method",
        type: "nominal",
        title: null,
        sort: REPR_METHODS.map((m) => REPR_LABELS[m] as string),
      },
      column: { field: "layer", type: "nominal", title: null },
    },
    spec: {
      width: 120,
      height: 120,
      mark: "rect",
      encoding: {
        x: { field: "j", type: "ordinal", axis: null },
        y: { field: "i", type: "ordinal", axis: null },
        color: {
          field: "d",
          type: "quantitative",
          title: "1 - corr",
          scale: { scheme: "viridis", domain: [0, 2] },
        },
      },
    },
  };
}

/**
 * The figure (curves.svg/png) and, where the experiment has one, the table (results.md) of a
 * `sgprop train dni` run, drawn from its metrics and its last checkpoint.
 */
export async function writeDniFigures(
  dir: string,
  config: RunConfig,
  train: readonly Row[],
  evalRows: readonly Row[],
): Promise<{ svg: string; png: string }> {
  const o = config.options;
  const title = `dni ${o.experiment} seed ${o.seed} (${basename(dir)})`;
  const out = join(dir, RUN_FILES.curves);
  if (o.experiment === "critical-point") {
    writeFileSync(join(dir, RUN_FILES.results), criticalMarkdown(train));
    return renderFigure(criticalSpec(title, train), out);
  }
  if (o.experiment === "table2") {
    writeFileSync(
      join(dir, RUN_FILES.results),
      table2Markdown(train, Number(o.steps), Number(o.learningRate)),
    );
    return renderFigure(table2Spec(title, train), out);
  }
  if (o.experiment === "representations") {
    writeFileSync(join(dir, RUN_FILES.results), probesMarkdown(evalRows.at(-1) ?? {}));
    const spec = await rdmSpec(dir, title);
    if (spec !== undefined) return renderFigure(spec, out);
  }
  if (o.experiment === "loss-surface") {
    const spec = await surfaceSpec(dir, config, title);
    if (spec !== undefined) return renderFigure(spec, out);
  }
  return renderFigure(runCurvesSpec("dni", title, train, evalRows), out);
}
