import { mkdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, Option } from "commander";
import type { Output } from "../cli/output.js";
import { assertSameSweep } from "../commands/sweep.js";
import { positiveInt } from "../commands/train.js";
import { ExitCode, InvalidOptionError } from "../errors.js";
import type { TrainKind } from "../options/presets.js";
import { loadSweep } from "../report/load.js";
import { writeJsonAtomic } from "../run/files.js";
import type { ProgressMode } from "../run/progress.js";
import { runSweep, SWEEP_FILES } from "../sweep/run-sweep.js";
import { expandSweep, readSweepFile } from "../sweep/spec.js";
import { compareMethod, type MethodVerdict, runMetrics } from "./compare.js";
import { defaultReferenceDir, loadReferenceRuns } from "./reference.js";
import { type CurvePoint, type KindResult, kindPasses, writeKindResult } from "./report.js";

interface ValidateFlags {
  out: string;
  only?: TrainKind;
  methods?: string[];
  workers?: number;
  train: boolean;
  reference?: string;
  progress: ProgressMode;
}

/** The sweep file of each half of the validation; its method labels are the reference's names. */
function validateSweepPath(kind: TrainKind): string {
  return fileURLToPath(new URL(`../../sweeps/validate-${kind}.yaml`, import.meta.url));
}

/** POPGym SparseNet backprop is bimodal (seeds find the exit or stay near 0.29): reported, not gating. */
const NOT_GATING = new Set(["sparsenet_backprop"]);

/** Method labels of both validate sweeps (the reference's own names). */
const VALIDATE_METHODS = [
  "sgprop_adaptive",
  "sparse_backprop",
  "mlp",
  "gru",
  "sparsenet_backprop",
  "sparsenet_sgprop_adaptive",
];

async function validateKind(
  kind: TrainKind,
  flags: ValidateFlags,
  out: Output,
): Promise<KindResult | undefined> {
  const path = validateSweepPath(kind);
  const full = expandSweep(readSweepFile(path), path);
  const unknown = (flags.methods ?? []).filter((m) => !VALIDATE_METHODS.includes(m));
  if (unknown.length > 0)
    throw new InvalidOptionError("--methods", unknown.join(","), `names from ${VALIDATE_METHODS.join(", ")}`);
  const wanted = (flags.methods ?? []).filter((m) => full.runs.some((r) => r.method === m));
  if (flags.methods !== undefined && wanted.length === 0) return undefined;
  const sweep =
    flags.methods === undefined
      ? full
      : { ...full, runs: full.runs.filter((r) => wanted.includes(r.method)) };
  const dir = resolve(flags.out, kind);
  assertSameSweep(sweep, dir);
  const reference = loadReferenceRuns(kind, flags.reference ?? defaultReferenceDir());
  if (flags.train) {
    mkdirSync(dir, { recursive: true });
    writeJsonAtomic(join(dir, SWEEP_FILES.spec), sweep);
    out.info(
      `== ${kind}: ${sweep.runs.length} runs -> ${relative(process.cwd(), dir)} (re-running continues)`,
    );
    await runSweep(sweep, dir, {
      progress: flags.progress,
      out,
      ...(flags.workers === undefined ? {} : { workers: flags.workers }),
    });
  }
  const loaded = loadSweep(dir);
  const curves: CurvePoint[] = [];
  const incomplete: string[] = [];
  const verdicts: MethodVerdict[] = [];
  const methods = [...new Set(sweep.runs.map((r) => r.method))];
  for (const method of methods) {
    const ours = loaded.runs
      .filter((r) => r.run.method === method)
      .flatMap((r) => {
        const seed = Number(r.run.options.seed);
        if (r.status !== "complete") {
          incomplete.push(r.run.id);
          return [];
        }
        const rows = kind === "bandit" ? r.evalRows : r.train;
        const unitKey = kind === "bandit" ? "charts/step" : "charts/batch";
        const valueKey = kind === "bandit" ? "eval/reward" : "charts/success_rate";
        const values = rows.map((row) => row[valueKey] as number);
        rows.forEach((row, i) => {
          curves.push({
            source: "ours",
            method,
            seed,
            unit: row[unitKey] as number,
            value: values[i] as number,
          });
        });
        return [runMetrics(kind, seed, values)];
      });
    const refRuns = reference.filter((r) => r.method === method);
    for (const r of refRuns)
      r.units.forEach((unit, i) => {
        curves.push({ source: "reference", method, seed: r.seed, unit, value: r.values[i] as number });
      });
    const refMetrics = refRuns.map((r) => runMetrics(kind, r.seed, r.values));
    verdicts.push(
      compareMethod(kind, method, ours, refMetrics, !(kind === "popgym" && NOT_GATING.has(method))),
    );
  }
  return { kind, verdicts, curves, incomplete };
}

/**
 * `sgprop validate`: trains the paper's settings (bandit: three methods x 4 seeds; POPGym escape:
 * three models x 6 seeds), then compares our final and mean metrics with the paper's own runs.
 */
export function validateCommand(out: Output, setExit: (code: number) => void): Command {
  return new Command("validate")
    .description(
      "train the paper's settings on several seeds and check the learning curves against the paper's own code (tens of minutes on 2 cores; re-running continues)",
    )
    .option("--out <dir>", "results folder", join("results", "validate"))
    .addOption(new Option("--only <kind>", "validate one half only").choices(["bandit", "popgym"]))
    .option("--methods <names...>", "validate these methods only (a subset run needs its own --out folder)")
    .option("--workers <n>", "parallel worker threads (default: one per core)", positiveInt())
    .option("--no-train", "compare the runs already in --out without training")
    .option("--reference <dir>", "folder of reference curves (default: the bundled reference-curves/)")
    .addOption(
      new Option("--progress <mode>", "progress display")
        .choices(["auto", "bar", "lines", "none"])
        .default("auto"),
    )
    .action(async (flags: ValidateFlags) => {
      const kinds: TrainKind[] = flags.only !== undefined ? [flags.only] : ["bandit", "popgym"];
      const results: KindResult[] = [];
      for (const kind of kinds) {
        const result = await validateKind(kind, flags, out);
        if (result !== undefined) results.push(result);
      }
      const root = resolve(flags.out);
      mkdirSync(root, { recursive: true });
      for (const result of results) out.info(`\n${await writeKindResult(result, root)}`);
      const pass = results.every(kindPasses);
      writeJsonAtomic(join(root, "validate.json"), {
        pass,
        results: results.map(({ curves: _curves, ...rest }) => ({
          ...rest,
          pass: kindPasses(rest as KindResult),
        })),
      });
      out.info(`\nvalidate: ${pass ? "PASS" : "FAIL"} (tables, curves: ${relative(process.cwd(), root)})`);
      setExit(pass ? ExitCode.ok : ExitCode.failure);
    });
}
