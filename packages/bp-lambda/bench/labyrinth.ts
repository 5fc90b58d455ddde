/**
 * The recurrent SparseNet on LabyrinthEscape 6x6 with its SG predictors trained by the paper's rule
 * (regression on the mixed gradient gtilde) or by BP(lambda) (issue 21, item 5). Every run is
 * `sgprop train popgym` at the paper's settings (300 batches of 20 envs, sgprop, adaptive theta);
 * only --sg-rule / --sg-lambda and the seed change. Runs one at a time (other jobs share the cores);
 * finished runs are kept under --out and not run again, so an interrupted comparison continues.
 *
 *   node --conditions=source --import tsx bench/labyrinth.ts [--out DIR] [--seeds 0,1,2] [--batches 300]
 *     [--setting paper|theta-half] [--rules gtilde,0,0.5,1]
 *
 * Prints per rule the success rate and mean return over the last 50 batches, mean over seeds.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const RULES: { key: string; label: string; flags: string[] }[] = [
  { key: "gtilde", label: "paper (gtilde)", flags: [] },
  { key: "0", label: "BP(0)", flags: ["--sg-rule", "bp-lambda", "--sg-lambda", "0"] },
  { key: "0.5", label: "BP(0.5)", flags: ["--sg-rule", "bp-lambda", "--sg-lambda", "0.5"] },
  { key: "1", label: "BP(1)", flags: ["--sg-rule", "bp-lambda", "--sg-lambda", "1"] },
];

/**
 * paper: theta starts at 1 and adapts (it stays near 1 here, so the predictors carry little of the
 * gradient); theta-half: theta fixed at 0.5 at every step (no adaptation, temporal schedule rate 0),
 * so half of every gradient leaving H_t is the prediction and the predictors' rule matters.
 */
const SETTINGS: Record<string, { suffix: string; flags: string[] }> = {
  paper: { suffix: "", flags: [] },
  "theta-half": {
    suffix: "-theta0.5",
    flags: ["--theta-init", "0.5", "--adaptive-theta", "false", "--theta-rho", "0"],
  },
};

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback;
}

const out = arg("--out", join(tmpdir(), "sgprop-bp-lambda-labyrinth"));
const seeds = arg("--seeds", "0,1,2").split(",").map(Number);
const batches = Number(arg("--batches", "300"));
const settingName = arg("--setting", "paper");
const setting = SETTINGS[settingName];
if (setting === undefined) throw new Error(`--setting must be one of ${Object.keys(SETTINGS).join(", ")}`);
const ruleKeys = arg("--rules", "gtilde,0,0.5,1").split(",");
const rules = RULES.filter((r) => ruleKeys.includes(r.key));
const WINDOW = 50;
// The CLI from its sources, as the root `pnpm sgprop` runs it: apps/train/bin/ loads dist/, which
// may be older than the checkout (or absent) and then lacks flags such as --sg-rule.
const cli = [
  "--conditions=source",
  "--import",
  "tsx",
  fileURLToPath(new URL("../../../apps/train/src/bin.ts", import.meta.url)),
];

/** Mean of a column over the last WINDOW rows of metrics.csv. */
function tail(dir: string, column: string): number {
  const lines = readFileSync(join(dir, "metrics.csv"), "utf8").trim().split("\n");
  const col = (lines[0] as string).split(",").indexOf(column);
  const rows = lines.slice(1).slice(-WINDOW);
  return rows.reduce((s, l) => s + Number(l.split(",")[col]), 0) / rows.length;
}

const results = new Map<string, { success: number[]; ret: number[] }>();
for (const seed of seeds) {
  for (const rule of rules) {
    const dir = join(out, `${rule.label.replace(/[^A-Za-z0-9.]+/g, "_")}${setting.suffix}-seed${seed}`);
    const done =
      existsSync(join(dir, "summary.json")) &&
      readFileSync(join(dir, "summary.json"), "utf8").includes('"status": "complete"');
    if (!done) {
      const t0 = Date.now();
      const args = [
        ...cli,
        "train",
        "popgym",
        "--seed",
        String(seed),
        "--batches",
        String(batches),
        ...setting.flags,
        ...rule.flags,
      ];
      const r = spawnSync(
        process.execPath,
        [...args, "--out", dir, "--overwrite", "--progress", "none", "--no-plots"],
        {
          stdio: ["ignore", "ignore", "inherit"],
        },
      );
      if (r.status !== 0) {
        console.error(`${rule.label} seed ${seed}: sgprop train popgym exited ${r.status}`);
        process.exit(1);
      }
      console.log(`${rule.label} seed ${seed}: ${((Date.now() - t0) / 60000).toFixed(1)} min`);
    }
    const entry = results.get(rule.label) ?? { success: [], ret: [] };
    entry.success.push(tail(dir, "charts/success_rate"));
    entry.ret.push(tail(dir, "charts/return_mean"));
    results.set(rule.label, entry);
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(
  `\nLabyrinthEscape 6x6, setting ${settingName}, ${batches} batches x 20 envs, seeds ${seeds.join(",")}; last ${WINDOW} batches`,
);
console.log("| SG rule | success rate per seed | mean | return per seed | mean |");
console.log("| --- | --- | --- | --- | --- |");
for (const [label, r] of results) {
  const f = (xs: number[]) => xs.map((x) => x.toFixed(3)).join(", ");
  console.log(
    `| ${label} | ${f(r.success)} | ${mean(r.success).toFixed(3)} | ${f(r.ret)} | ${mean(r.ret).toFixed(3)} |`,
  );
}
