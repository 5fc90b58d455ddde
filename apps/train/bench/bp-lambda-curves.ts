/**
 * Draws BP(lambda)'s learning-curve figures (the paper's Figs. 3-5: toy task with a learning RNN,
 * sequential MNIST, copy-repeat) from `sgprop train bp-lambda` results folders. With `--run`, first
 * trains a SMALL grid (a few minutes of CPU; the settings are below and in the package README),
 * one run at a time, skipping folders that already hold a summary.json.
 *
 *   node --conditions=source --import tsx bench/bp-lambda-curves.ts --run [--runs DIR] [--out DIR]
 *   node --conditions=source --import tsx bench/bp-lambda-curves.ts --runs DIR   # any folders of runs
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderFigure } from "../src/plot/index.js";
import {
  BP_LAMBDA_CURVE_FIGURES,
  bpLambdaCurveFigure,
  readBpLambdaRun,
} from "../src/report/bp-lambda-curves.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback;
}

const runsDir = arg("--runs", join(tmpdir(), "sgprop-bp-lambda-curves"));
const out = arg("--out", "bp-lambda-curves");

/** The small grid: task flags (scaled far below the paper's budgets), then the methods and seeds. */
const GRID: Record<string, { flags: string[]; methods: string[][]; seeds: number[] }> = {
  toy: {
    flags: ["--epochs", "20", "--batches-per-epoch", "10", "--length", "4", "--length-step", "4"],
    methods: [
      ["--lambda", "0"],
      ["--lambda", "0.5"],
      ["--lambda", "1"],
      ["--method", "bptt", "--n", "3"],
    ],
    seeds: [0, 1],
  },
  "copy-repeat": {
    flags: ["--hidden-size", "32", "--batch-size", "20", "--epochs", "50", "--batches-per-epoch", "10"],
    methods: [
      ["--lambda", "0"],
      ["--lambda", "1"],
      ["--method", "bptt", "--n", "5"],
      ["--method", "no-bptt"],
    ],
    seeds: [0, 1],
  },
  "seq-mnist": {
    flags: ["--hidden-size", "32", "--epochs", "3", "--batches-per-epoch", "20", "--eval-size", "300"],
    methods: [
      ["--lambda", "0"],
      ["--lambda", "1"],
      ["--method", "bptt"],
    ],
    seeds: [0],
  },
};
const EXTRA: Record<string, string[]> = {
  toy: ["--max-length", "24", "--solved-window", "5", "--sg-learning-rate", "1e-3"],
  "copy-repeat": ["--learning-rate", "3e-3", "--sg-learning-rate", "1e-3"],
  "seq-mnist": ["--learning-rate", "3e-3"],
};

if (process.argv.includes("--run")) {
  const app = join(dirname(fileURLToPath(import.meta.url)), "..");
  const started = Date.now();
  for (const [task, g] of Object.entries(GRID))
    for (const method of g.methods)
      for (const seed of g.seeds) {
        const name = `${task}-${method.join("").replace(/-/g, "")}-s${seed}`;
        const dir = join(runsDir, name);
        if (existsSync(join(dir, "summary.json"))) continue;
        const argv = ["train", "bp-lambda", "--task", task, ...method, ...g.flags, ...(EXTRA[task] ?? [])];
        process.stderr.write(`[curves] ${name}: sgprop ${argv.join(" ")} --seed ${seed}\n`);
        const r = spawnSync(
          process.execPath,
          [
            "--conditions=source",
            "--import",
            "tsx",
            "src/bin.ts",
            ...argv,
            "--seed",
            String(seed),
            "--out",
            dir,
          ],
          { cwd: app, stdio: ["ignore", "ignore", "inherit"] },
        );
        if (r.status !== 0) throw new Error(`run ${name} exited with ${r.status}`);
      }
  process.stderr.write(`[curves] runs done in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}

const runs = existsSync(runsDir)
  ? readdirSync(runsDir)
      .map((d) => join(runsDir, d))
      .filter((d) => existsSync(join(d, "config.json")) && existsSync(join(d, "metrics.csv")))
      .map(readBpLambdaRun)
  : [];
if (runs.length === 0) {
  process.stderr.write(`no bp-lambda results folders under ${runsDir} (add --run to train the small grid)\n`);
  process.exit(2);
}
mkdirSync(out, { recursive: true });
const md = ["# BP(λ): learning curves (Figs. 3-5) from our runs", ""];
for (const task of Object.keys(BP_LAMBDA_CURVE_FIGURES)) {
  const seeds = [...new Set(runs.filter((r) => r.task === task).map((r) => r.seed))].sort();
  const fig = bpLambdaCurveFigure(
    task,
    runs,
    `ours, mean ± SEM over seeds ${seeds.join(", ")} (small runs: see the package README)`,
  );
  if (fig === null) continue;
  await renderFigure(fig.spec, join(out, fig.name));
  md.push(
    `## ${fig.name}`,
    "",
    "| panel | method | last batch | mean | mean ± SEM |",
    "| --- | --- | --- | --- | --- |",
  );
  for (const panel of new Set(fig.rows.map((r) => r.panel)))
    for (const series of new Set(fig.rows.map((r) => r.series))) {
      const last = fig.rows.filter((r) => r.panel === panel && r.series === series).at(-1);
      if (last)
        md.push(
          `| ${panel} | ${series} | ${last.x} | ${last.mean.toPrecision(3)} | ${last.lo.toPrecision(3)}-${last.hi.toPrecision(3)} |`,
        );
    }
  md.push("");
}
writeFileSync(join(out, "curves.md"), `${md.join("\n")}\n`);
process.stdout.write(`${md.join("\n")}\nwritten to ${out}/\n`);
