/**
 * Draws BP(lambda)'s Table 2 and Fig. 2 from our runs with the project's figure code (issue 21):
 *   - report.md: Table 2, ours (per seed, mean) beside the paper's, from the Table 2 bench's results
 *     (`pnpm --filter @sgprop/bp-lambda bench` writes them under the OS temp folder);
 *   - table2-lambda.{svg,png}: the BP(lambda) rows as score against lambda, ours and the paper's;
 *   - table2-nstep.{svg,png}: the n-step rows against n, with BP(1) for reference;
 *   - fig2-alignment.{svg,png}: the toy task's fixed linear RNN, cosine between synthetic and true
 *     gradients per time step for BP(0), BP(0.5), BP(1) (seeds 0-2; about 1 min of CPU).
 *
 *   node --conditions=source --import tsx bench/bp-lambda-report.ts [--results FILE] [--out DIR]
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BpLambdaTrainer } from "@sgprop/bp-lambda";
import { renderFigure } from "../src/plot/index.js";
import { bpLambdaTable2, meanSem } from "../src/report/bp-lambda.js";
import { type BandRow, bandChart, pointChart } from "../src/report/chart.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback;
}

const resultsFile = arg("--results", join(tmpdir(), "sgprop-bp-lambda-bench", "table2-results.json"));
const out = arg("--out", "bp-lambda-report");
mkdirSync(out, { recursive: true });

const md: string[] = ["# BP(λ): Table 2 and Fig. 2 from our runs", ""];

if (existsSync(resultsFile)) {
  const { results, seeds } = JSON.parse(readFileSync(resultsFile, "utf8")) as {
    results: Record<string, Record<string, number[]>>;
    seeds: number[];
  };
  const { markdown, lambdaRows, nRows } = bpLambdaTable2(results, seeds);
  md.push(...markdown);
  const common = {
    xFormat: ".2~f",
    yFormat: ".3~g",
    independentY: true,
    columns: 2,
    width: 260,
    height: 200,
  };
  await renderFigure(
    pointChart(lambdaRows, {
      ...common,
      title: "Table 2: BP(λ) rows",
      subtitle: "ours: mean ± SEM over seeds at the bench's scale; paper: its Table 2",
      xTitle: "λ",
      yTitle: "score",
      xValues: [0, 0.5, 1],
    }),
    join(out, "table2-lambda"),
  );
  if (nRows.length > 0)
    await renderFigure(
      pointChart(nRows, {
        ...common,
        title: "Table 2: n-step methods",
        subtitle: "mean ± SEM over seeds; BP(1) repeated for reference",
        xTitle: "truncation n",
        yTitle: "score",
      }),
      join(out, "table2-nstep"),
    );
} else {
  md.push(`No Table 2 results at ${resultsFile}: run \`pnpm --filter @sgprop/bp-lambda bench\` first.`, "");
}

// Fig. 2: the fixed linear RNN; only the synthesiser learns.
const alignRows: BandRow[] = [];
const BATCHES = 120;
const WINDOW = 50;
for (const lambda of [0, 0.5, 1]) {
  const perStep = new Map<number, number[]>();
  for (const seed of [0, 1, 2]) {
    const trainer = new BpLambdaTrainer({
      task: "toy",
      fixedRnn: true,
      lambda,
      seed,
      sgLearningRate: 1e-3,
      epochs: 1,
      batchesPerEpoch: BATCHES,
    });
    const sums = new Map<number, number>();
    while (trainer.completed < trainer.total) {
      const { train } = await trainer.next();
      if (trainer.completed <= BATCHES - WINDOW) continue;
      for (const [key, value] of Object.entries(train)) {
        const t = /^sg\/alignment_t(\d+)$/.exec(key)?.[1];
        if (t !== undefined && Number.isFinite(value))
          sums.set(Number(t), (sums.get(Number(t)) ?? 0) + value);
      }
    }
    for (const [t, sum] of sums) perStep.set(t, [...(perStep.get(t) ?? []), sum / WINDOW]);
  }
  for (const [t, values] of perStep) {
    const s = meanSem(values);
    alignRows.push({ panel: "fixed linear RNN", series: `BP(${lambda})`, source: "ours", x: t, ...s });
  }
}
await renderFigure(
  bandChart(alignRows, {
    title: "Fig. 2: alignment of synthetic and true gradients",
    subtitle: `toy task, fixed linear RNN, mean over the last ${WINDOW} of ${BATCHES} batches, mean ± SEM over seeds 0-2`,
    xTitle: "time step",
    yTitle: "cosine(ĝ, true gradient)",
    xFormat: "d",
    yFormat: ".2f",
  }),
  join(out, "fig2-alignment"),
);
md.push(
  "## Fig. 2 (toy task, fixed linear RNN)",
  "",
  "| time step | BP(0) | BP(0.5) | BP(1) |",
  "| --- | --- | --- | --- |",
);
const steps = [...new Set(alignRows.map((r) => r.x))].sort((a, b) => a - b);
for (const t of steps) {
  const cell = (l: string) => alignRows.find((r) => r.x === t && r.series === l)?.mean.toFixed(2) ?? "";
  md.push(`| ${t} | ${cell("BP(0)")} | ${cell("BP(0.5)")} | ${cell("BP(1)")} |`);
}
md.push("", "Figures: table2-lambda, table2-nstep, fig2-alignment (.svg and .png).");
writeFileSync(join(out, "report.md"), `${md.join("\n")}\n`);
process.stdout.write(`${md.join("\n")}\nwritten to ${out}/\n`);
