/**
 * Checks that a change of the trainer's code leaves whole runs unchanged: runs `sgprop train
 * bp-lambda` for every task and method for a few dozen batches in a given checkout, then compares
 * two such result sets bit for bit (metrics.csv, eval.csv and the final checkpoint's parameters and
 * Adam moments), printing the largest relative difference where they differ.
 *
 *   node --conditions=source --import tsx bench/identity.ts --root /path/to/other/checkout --out /tmp/ref
 *   node --conditions=source --import tsx bench/identity.ts --out /tmp/new      # this checkout
 *   node --conditions=source --import tsx bench/identity.ts --compare /tmp/ref /tmp/new
 *
 * Exits 1 when a run differs (or is missing), 2 on a bad flag.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const TOY = ["--task", "toy", "--epochs", "2", "--batches-per-epoch", "10", "--length", "6"];
const TOY_GROW = [...TOY, "--length-step", "5", "--max-length", "16", "--solved-loss", "100"];
const COPY = [
  "--task",
  "copy-repeat",
  "--hidden-size",
  "32",
  "--batch-size",
  "20",
  "--epochs",
  "4",
  "--batches-per-epoch",
  "10",
  "--learning-rate",
  "3e-3",
  "--sg-learning-rate",
  "1e-3",
  // A lax criterion moves the curriculum, so that several lengths T are exercised.
  "--solved-bits",
  "0.95",
];
const COPY_PAPER = ["--task", "copy-repeat", "--epochs", "1", "--batches-per-epoch", "4"];
const MNIST = ["--task", "seq-mnist", "--epochs", "2", "--batches-per-epoch", "5", "--eval-size", "100"];
const METHODS: Record<string, string[]> = {
  bpl0: ["--method", "bp-lambda", "--lambda", "0"],
  bpl05: ["--method", "bp-lambda", "--lambda", "0.5"],
  bpl1: ["--method", "bp-lambda", "--lambda", "1"],
  bptt3: ["--method", "bptt", "--n", "3"],
  "bptt-full": ["--method", "bptt"],
  sg3: ["--method", "bptt-sg", "--n", "3"],
  nobptt: ["--method", "no-bptt"],
};

const RUNS: Record<string, string[]> = {
  "toy-fixed-bpl05": [
    "--preset",
    "paper-toy-fixed",
    "--epochs",
    "1",
    "--batches-per-epoch",
    "20",
    "--lambda",
    "0.5",
  ],
  "toy-fixed-bpl1": ["--preset", "paper-toy-fixed", "--epochs", "1", "--batches-per-epoch", "20"],
  "copy-onestep-nobptt": [...COPY, "--method", "no-bptt", "--cell-traces", "false"],
  "copy-onestep-bpl1": [...COPY, "--method", "bp-lambda", "--cell-traces", "false"],
  "copy-paper-bpl1": [...COPY_PAPER, ...(METHODS.bpl1 as string[])],
  "copy-paper-sg5": [...COPY_PAPER, "--method", "bptt-sg", "--n", "5"],
  "mnist-bpl05": [...MNIST, ...(METHODS.bpl05 as string[])],
  "mnist-sg3": [...MNIST, ...(METHODS.sg3 as string[])],
  "mnist-nobptt": [...MNIST, ...(METHODS.nobptt as string[])],
};
for (const [m, flags] of Object.entries(METHODS)) {
  RUNS[`toy-${m}`] = [...TOY_GROW, ...flags];
  RUNS[`copy-${m}`] = [...COPY, ...flags];
}

function run(root: string, out: string): void {
  const names = Object.keys(RUNS);
  names.forEach((name, i) => {
    const dir = join(out, name);
    process.stdout.write(`[${i + 1}/${names.length}] ${name}\n`);
    const args = [
      "--conditions=source",
      "--import",
      "tsx",
      "apps/train/src/bin.ts",
      "train",
      "bp-lambda",
      ...(RUNS[name] as string[]),
      "--out",
      dir,
      "--overwrite",
      "--progress",
      "none",
      "--no-plots",
      "--checkpoint-every",
      "100000",
    ];
    const r = spawnSync(process.execPath, args, { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
    if (r.status !== 0) {
      console.error(`${name}: sgprop train exited with ${r.status}`);
      process.exit(1);
    }
  });
}

/** Numbers of a file, in order: CSV cells, or the leaves of a JSON checkpoint. */
function numbers(file: string): number[] {
  const text = readFileSync(file, "utf8");
  if (file.endsWith(".csv"))
    return text
      .trim()
      .split("\n")
      .slice(1)
      .flatMap((line) => line.split(",").map(Number));
  const out: number[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === "number") out.push(v);
    else if (Array.isArray(v)) for (const x of v) walk(x);
    else if (v && typeof v === "object") for (const x of Object.values(v)) walk(x);
  };
  const state = JSON.parse(text) as { params: unknown; adam: unknown };
  walk(state.params);
  walk(state.adam);
  return out;
}

function lastCheckpoint(dir: string): string {
  const root = join(dir, "checkpoints");
  const units = readdirSync(root)
    .filter((d) => d.startsWith("unit-"))
    .sort();
  return join(root, units[units.length - 1] as string, "bp-lambda.json");
}

function compare(a: string, b: string): boolean {
  let ok = true;
  for (const name of Object.keys(RUNS)) {
    const files = ["metrics.csv", "eval.csv"].filter((f) => existsSync(join(a, name, f)));
    const pairs: [string, string, string][] = files.map((f) => [f, join(a, name, f), join(b, name, f)]);
    pairs.push(["checkpoint", lastCheckpoint(join(a, name)), lastCheckpoint(join(b, name))]);
    const verdicts: string[] = [];
    for (const [label, fa, fb] of pairs) {
      if (!existsSync(fb)) {
        verdicts.push(`${label} missing`);
        ok = false;
        continue;
      }
      const x = numbers(fa);
      const y = numbers(fb);
      if (x.length !== y.length) {
        verdicts.push(`${label} length ${x.length} vs ${y.length}`);
        ok = false;
        continue;
      }
      let differing = 0;
      let worst = 0;
      x.forEach((v, i) => {
        const w = y[i] as number;
        if (Object.is(v, w)) return;
        differing++;
        worst = Math.max(worst, Math.abs(v - w) / Math.max(Math.abs(v), Math.abs(w)));
      });
      if (differing > 0) ok = false;
      verdicts.push(
        differing === 0
          ? `${label} identical (${x.length})`
          : `${label} ${differing} differ, max rel ${worst}`,
      );
    }
    console.log(`${name}: ${verdicts.join("; ")}`);
  }
  return ok;
}

const { values, positionals } = parseArgs({
  // pnpm passes the "--" that separates its own flags from the script's.
  args: process.argv.slice(2).filter((a, i) => !(i === 0 && a === "--")),
  options: {
    root: { type: "string" },
    out: { type: "string" },
    compare: { type: "boolean" },
  },
  allowPositionals: true,
});
if (values.compare) {
  const [a, b] = positionals;
  if (!a || !b || positionals.length !== 2) {
    console.error("--compare needs two result folders");
    process.exit(2);
  }
  const ok = compare(a, b);
  console.log(ok ? "all runs identical" : "runs differ");
  process.exit(ok ? 0 : 1);
}
if (!values.out) {
  console.error("--out <folder> is required (or --compare <a> <b>)");
  process.exit(2);
}
const root = resolve(values.root ?? join(fileURLToPath(import.meta.url), "../../../.."));
run(root, resolve(values.out));
