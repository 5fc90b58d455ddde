import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, Option } from "commander";
import type { Output } from "../cli/output.js";
import { assertSameSweep } from "../commands/sweep.js";
import { positiveInt } from "../commands/train.js";
import { ExitCode, InvalidOptionError, ResultsFolderError } from "../errors.js";
import type { TrainKind } from "../options/presets.js";
import { type LoadedSweep, loadSweep } from "../report/load.js";
import { writeJsonAtomic } from "../run/files.js";
import { checkWritableFolder } from "../run/out-dir.js";
import type { ProgressMode } from "../run/progress.js";
import { runLockedSweep } from "../sweep/run-locked.js";
import { SWEEP_FILES } from "../sweep/run-sweep.js";
import { type ExpandedSweep, expandSweep, readSweepFile } from "../sweep/spec.js";
import { compareMethod, type MethodVerdict, type RunMetrics, runMetrics } from "./compare.js";
import { defaultReferenceDir, loadReferenceRuns, type ReferenceRun } from "./reference.js";
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

/** POPGym SparseNet backprop is bimodal (seeds find the exit or stay near 0.29): reported, not gating. */
const NOT_GATING = new Set(["sparsenet_backprop"]);

/** The sweep file of each half of the validation; its method labels are the reference's names. */
function validateSweepPath(kind: TrainKind): string {
  return fileURLToPath(new URL(`../../sweeps/validate-${kind}.yaml`, import.meta.url));
}

interface Plan {
  readonly kind: TrainKind;
  readonly sweep: ExpandedSweep;
  readonly dir: string;
  readonly reference: readonly ReferenceRun[];
}

/** Everything that can be refused is checked here, for both halves, before any run starts. */
function planValidation(flags: ValidateFlags): { root: string; plans: Plan[] } {
  const kinds: TrainKind[] = flags.only !== undefined ? [flags.only] : ["bandit", "popgym"];
  const full = kinds.map((kind) => {
    const path = validateSweepPath(kind);
    return { kind, sweep: expandSweep(readSweepFile(path), path) };
  });
  const known = full.flatMap((f) => [...new Set(f.sweep.runs.map((r) => r.method))]);
  const unknown = (flags.methods ?? []).filter((m) => !known.includes(m));
  if (unknown.length > 0)
    throw new InvalidOptionError("--methods", unknown.join(","), `names from ${known.join(", ")}`);
  const root = checkWritableFolder("--out", flags.out);
  const plans = full.flatMap(({ kind, sweep: all }) => {
    const runs =
      flags.methods === undefined
        ? all.runs
        : all.runs.filter((r) => (flags.methods as string[]).includes(r.method));
    if (runs.length === 0) return [];
    const sweep = { ...all, runs };
    const dir = join(root, kind);
    if (existsSync(dir) && readdirSync(dir).length > 0 && !existsSync(join(dir, SWEEP_FILES.spec)))
      throw new ResultsFolderError(`${dir} is not empty and holds no sweep; choose another --out`);
    assertSameSweep(sweep, dir);
    if (!flags.train && !existsSync(join(dir, SWEEP_FILES.spec)))
      throw new ResultsFolderError(`--no-train: ${dir} holds no validation runs yet; run without --no-train`);
    return [
      { kind, sweep, dir, reference: loadReferenceRuns(kind, flags.reference ?? defaultReferenceDir()) },
    ];
  });
  return { root, plans };
}

/** Our runs of one method: their headline numbers and curves, and the ids of unfinished ones. */
function oursOf(loaded: LoadedSweep, kind: TrainKind, method: string) {
  const metrics: RunMetrics[] = [];
  const curves: CurvePoint[] = [];
  const incomplete: string[] = [];
  const unitKey = kind === "bandit" ? "charts/step" : "charts/batch";
  const valueKey = kind === "bandit" ? "eval/reward" : "charts/success_rate";
  for (const r of loaded.runs.filter((x) => x.run.method === method)) {
    if (r.status !== "complete") {
      incomplete.push(r.run.id);
      continue;
    }
    const seed = Number(r.run.options.seed);
    const rows = kind === "bandit" ? r.evalRows : r.train;
    for (const row of rows)
      curves.push({
        source: "ours",
        method,
        seed,
        unit: row[unitKey] as number,
        value: row[valueKey] as number,
      });
    metrics.push(
      runMetrics(
        kind,
        seed,
        rows.map((row) => row[valueKey] as number),
      ),
    );
  }
  return { metrics, curves, incomplete };
}

function compareKind(plan: Plan): KindResult {
  const loaded = loadSweep(plan.dir);
  const curves: CurvePoint[] = [];
  const incomplete: string[] = [];
  const verdicts: MethodVerdict[] = [];
  for (const method of [...new Set(plan.sweep.runs.map((r) => r.method))]) {
    const ours = oursOf(loaded, plan.kind, method);
    curves.push(...ours.curves);
    incomplete.push(...ours.incomplete);
    const refRuns = plan.reference.filter((r) => r.method === method);
    for (const r of refRuns)
      r.units.forEach((unit, i) => {
        curves.push({ source: "reference", method, seed: r.seed, unit, value: r.values[i] as number });
      });
    const refMetrics = refRuns.map((r) => runMetrics(plan.kind, r.seed, r.values));
    const gating = !(plan.kind === "popgym" && NOT_GATING.has(method));
    verdicts.push(compareMethod(plan.kind, method, ours.metrics, refMetrics, gating));
  }
  return { kind: plan.kind, verdicts, curves, incomplete };
}

/**
 * `sgprop validate`: trains the paper's settings (bandit: three methods x 4 seeds; POPGym escape:
 * three models x 6 seeds), then compares our final and mean metrics with the paper's own runs.
 */
export function validateCommand(out: Output, setExit: (code: number) => void): Command {
  return new Command("validate")
    .description(
      "train the paper's settings on several seeds and check the learning curves against the paper's own code (about an hour on 2 cores; re-running continues)",
    )
    .option("--out <dir>", "results folder", join("results", "validate"))
    .addOption(new Option("--only <kind>", "validate one half only").choices(["bandit", "popgym"]))
    .option("--methods <names...>", "validate these methods only (a subset needs its own --out folder)")
    .option("--workers <n>", "parallel worker threads (default: one per core)", positiveInt())
    .option("--no-train", "compare the runs already in --out without training")
    .option("--reference <dir>", "folder of reference curves (default: the bundled reference-curves/)")
    .addOption(
      new Option("--progress <mode>", "progress display")
        .choices(["auto", "bar", "lines", "none"])
        .default("auto"),
    )
    .action(async (flags: ValidateFlags) => {
      const { root, plans } = planValidation(flags);
      if (flags.train) {
        for (const plan of plans) {
          out.info(`== ${plan.kind}: ${plan.sweep.runs.length} runs -> ${relative(process.cwd(), plan.dir)}`);
          const outcome = await runLockedSweep(plan.sweep, plan.dir, {
            progress: flags.progress,
            out,
            ...(flags.workers === undefined ? {} : { workers: flags.workers }),
          });
          if (outcome.stopped) {
            out.info("interrupted: runs stopped with a checkpoint; run the same command again to continue");
            setExit(ExitCode.interrupted);
            return;
          }
        }
      }
      const results = plans.map(compareKind);
      mkdirSync(root, { recursive: true });
      for (const result of results) out.info(`\n${await writeKindResult(result, root)}`);
      const pass = results.length > 0 && results.every(kindPasses);
      writeJsonAtomic(join(root, "validate.json"), {
        pass,
        results: results.map((r) => ({
          kind: r.kind,
          pass: kindPasses(r),
          incomplete: r.incomplete,
          verdicts: r.verdicts,
        })),
      });
      out.info(
        `\nvalidate: ${pass ? "PASS" : "FAIL"} (tables and curves in ${relative(process.cwd(), root)})`,
      );
      setExit(pass ? ExitCode.ok : ExitCode.failure);
    });
}
