/**
 * `sgprop diagnose <run-dir>` (issue 19): the gradient-estimation error of backprop, synthetic and
 * mixed gradients at a saved checkpoint of a run, per neuron and per layer, in the two spaces of
 * the paper (raw gradients; eq. 3's unit-normalised ones), with csv/json and figures.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { DiagnosisMoments } from "@sgprop/agents";
import { Command, InvalidArgumentError } from "commander";
import type { Output } from "../cli/output.js";
import { positiveInt } from "../commands/train.js";
import { ExitCode, InvalidOptionError, ResultsFolderError, UsageError } from "../errors.js";
import { checkBanditData } from "../options/data-dir.js";
import { checkpointFolders, checkpointName } from "../run/checkpoints.js";
import { RUN_FILES } from "../run/layout.js";
import { readRunConfig } from "../run/prepare.js";
import { summaryLines, writeDiagnosis } from "./write.js";

export interface DiagnoseFlags {
  readonly checkpoint?: string;
  readonly pool?: number;
  readonly batchSizes?: readonly number[];
  readonly seed?: number;
  readonly out?: string;
}

/**
 * Default batch sizes: the bandit's sweep of the issue; POPGym's batches are episodes, and the
 * default pool of 400 episodes keeps the target's variance under 10% of backprop's MSE only up to
 * about 40 of them (the trainer's 20 or 40 are added).
 */
export const DEFAULT_BATCH_SIZES = {
  bandit: [8, 16, 32, 64, 128, 256, 512],
  popgym: [4, 8, 16, 32],
} as const;

/** "8,16,32" -> [8, 16, 32]; commander names the flag in the error. */
export function batchSizeList(raw: string): number[] {
  const parts = raw.split(",").map((s) => s.trim());
  if (
    parts.length === 0 ||
    parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1 || !Number.isSafeInteger(Number(p)))
  )
    throw new InvalidArgumentError("expected integers >= 1, comma-separated (e.g. 8,16,32,64).");
  return parts.map(Number);
}

function seedArg(raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError("expected an integer >= 0.");
  return n;
}

/** The checkpoint folder a `--checkpoint` value names (default: the newest of the run). */
export function resolveCheckpoint(runDir: string, given: string | undefined): { dir: string; name: string } {
  const folders = checkpointFolders(runDir);
  const root = join(runDir, RUN_FILES.checkpoints);
  if (given === undefined) {
    const last = folders[folders.length - 1];
    if (last === undefined)
      throw new ResultsFolderError(`${runDir} has no checkpoint yet (${root} is empty)`);
    return { dir: join(root, last.name), name: last.name };
  }
  const byNumber = /^\d+$/.test(given) ? checkpointName(Number(given)) : given;
  for (const candidate of [join(root, byNumber), resolve(given)]) {
    if (existsSync(join(candidate, "checkpoint.json"))) return { dir: candidate, name: basename(candidate) };
  }
  throw new InvalidOptionError(
    "--checkpoint",
    given,
    `a checkpoint of ${runDir}: ${folders.map((f) => f.name).join(", ") || "(none yet)"}, its number of completed units, or a checkpoint folder`,
  );
}

async function momentsOf(
  kind: string,
  checkpointDir: string,
  options: Record<string, unknown>,
  flags: DiagnoseFlags,
  progress: (done: number, total: number) => void,
): Promise<{ moments: DiagnosisMoments; completed: number; seed: number }> {
  const agents = await import("@sgprop/agents");
  const common = {
    ...(flags.pool !== undefined ? { pool: flags.pool } : {}),
    ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
    onProgress: progress,
  };
  if (kind === "bandit") {
    if (options.model !== "sparsenet")
      throw new UsageError(
        `the diagnosis needs a SparseNet run; this run's model is ${String(options.model)}`,
      );
    checkBanditData(options as Parameters<typeof checkBanditData>[0]);
    const { MnistBandit } = await import("@sgprop/mnist-bandit");
    return agents.diagnoseBanditCheckpoint(checkpointDir, {
      ...common,
      bandit: (env) => new MnistBandit(env),
    });
  }
  if (kind === "popgym") {
    if (options.model !== "sparsenet")
      throw new UsageError(
        `the diagnosis needs a SparseNet run; this run's model is ${String(options.model)}`,
      );
    const { LabyrinthVectorEnv } = await import("@sgprop/popgym");
    // One pool sample is one episode (unnormalised returns, as the issue asks).
    const moments = await agents.diagnoseRecurrentCheckpoint(checkpointDir, {
      ...(flags.pool !== undefined ? { episodes: flags.pool } : {}),
      ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
      onProgress: (phase, done, total) => {
        if (phase === "gradients") progress(done, total);
      },
      envFactory: (spec) => new LabyrinthVectorEnv(spec),
    });
    const meta = JSON.parse(readFileSync(join(checkpointDir, "checkpoint.json"), "utf8")) as {
      completed?: number;
    };
    return { moments, completed: meta.completed ?? Number.NaN, seed: flags.seed ?? Number(options.seed) };
  }
  throw new UsageError(`the diagnosis covers bandit and popgym runs; ${checkpointDir} is a ${kind} run`);
}

/** Runs the diagnosis of one checkpoint and writes its folder; returns the exit code. */
export async function runDiagnose(runDirGiven: string, flags: DiagnoseFlags, out: Output): Promise<number> {
  const runDir = resolve(runDirGiven);
  if (!existsSync(runDir) || !statSync(runDir).isDirectory())
    throw new InvalidOptionError("<run-dir>", runDirGiven, "a results folder of sgprop train");
  const config = readRunConfig(runDir);
  const checkpoint = resolveCheckpoint(runDir, flags.checkpoint);
  const outDir = resolve(flags.out ?? join(runDir, RUN_FILES.diagnose, checkpoint.name));
  out.info(`diagnosing ${config.kind} run ${runDirGiven} at ${checkpoint.name}`);
  const t0 = performance.now();
  let lastShown = 0;
  const progress = (done: number, total: number) => {
    const now = performance.now();
    if (done === total || now - lastShown > 5000) {
      lastShown = now;
      out.info(`  pool: ${done}/${total} samples (${((now - t0) / 1000).toFixed(0)} s)`);
    }
  };
  const { moments, completed, seed } = await momentsOf(
    config.kind,
    checkpoint.dir,
    config.options as Record<string, unknown>,
    flags,
    progress,
  );
  const { diagnosisReport } = await import("@sgprop/agents");
  const report = diagnosisReport(moments, {
    batchSizes: flags.batchSizes ?? DEFAULT_BATCH_SIZES[config.kind === "popgym" ? "popgym" : "bandit"],
  });
  const seconds = (performance.now() - t0) / 1000;
  out.info(`  moments and report: ${seconds.toFixed(1)} s; writing ${outDir}`);
  const written = await writeDiagnosis(outDir, report, {
    kind: config.kind,
    runDir,
    checkpoint: checkpoint.name,
    completed,
    seed,
    seconds,
  });
  out.info(
    `checkpoint ${checkpoint.name} (${completed} units), pool ${report.pool}: ${report.sampleDescription}`,
  );
  for (const line of summaryLines(report)) out.info(line);
  out.info("");
  out.info(`wrote ${outDir}: ${written.join(", ")}`);
  return ExitCode.ok;
}

export function diagnoseCommand(out: Output, setExit: (code: number) => void): Command {
  return new Command("diagnose")
    .description(
      "gradient-estimation error (MSE = variance + bias^2) of backprop, synthetic and mixed gradients at a checkpoint, per neuron and layer",
    )
    .argument("<run-dir>", "a results folder of `sgprop train bandit` (SparseNet) or `sgprop train popgym`")
    .option(
      "--checkpoint <name>",
      "unit-000300, a number of completed units, or a checkpoint folder (default: the newest)",
    )
    .option(
      "--pool <n>",
      "fresh samples drawn for the population gradient (default: 8192 bandit)",
      positiveInt(),
    )
    .option(
      "--batch-sizes <list>",
      "batch sizes n to report, comma-separated; the trainer's batch is always added (default: bandit 8,16,...,512; POPGym 4,8,16,32 episodes)",
      batchSizeList,
    )
    .option("--seed <n>", "seed of the diagnosis's own random streams (default: the run's seed)", seedArg)
    .option("--out <dir>", "output folder (default: <run-dir>/diagnose/<checkpoint>)")
    .action(async (runDir: string, flags: DiagnoseFlags) => {
      setExit(await runDiagnose(runDir, flags, out));
    });
}
