import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import type { Output } from "../cli/output.js";
import { addParamFlags, addPresetFlags, explicitParams } from "../cli/param-flags.js";
import { resolveSettings } from "../cli/settings.js";
import { onStopRequest } from "../cli/stop-signals.js";
import { ExitCode, InvalidOptionError } from "../errors.js";
import { checkBanditData } from "../options/data-dir.js";
import type { TrainKind } from "../options/presets.js";
import type { ResolvedOptions } from "../options/resolve.js";
import { formatNumber, headlineMetrics, textTable, unitName, unitsName } from "../run/metrics.js";
import { createProgress, type ProgressMode } from "../run/progress.js";
import {
  executeRun,
  type PreparedRun,
  prepareNewRun,
  prepareResume,
  RUN_FILES,
  type RunSummary,
  readRunConfig,
  writeRunCurves,
} from "../run/train-run.js";
import { trainerFactory } from "../trainers/registry.js";

/** Commander argument parser for counts; commander names the flag in its error message. */
export function positiveInt() {
  return (raw: string): number => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || !Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError("expected an integer >= 1.");
    return n;
  };
}

export function defaultRunDir(kind: TrainKind, o: ResolvedOptions, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  if (kind === "dni") return join("runs", `dni-${o.experiment}-s${o.seed}-${stamp}`);
  const env = kind === "popgym" ? `${o.env}-` : "";
  return join("runs", `${kind}-${env}${o.model}-${o.algorithm}-s${o.seed}-${stamp}`);
}

export function defaultCheckpointEvery(kind: TrainKind): number {
  return kind === "popgym" ? 10 : kind === "dni" ? 100 : 250;
}

interface TrainFlags {
  preset?: string;
  config?: string;
  out?: string;
  overwrite?: boolean;
  resume?: string;
  checkpointEvery?: number;
  keepCheckpoints?: number;
  progress: ProgressMode;
  plots: boolean;
  printConfig?: boolean;
}

/** `sgprop train popgym|bandit`. */
export function trainCommand(kind: TrainKind, out: Output, setExit: (code: number) => void): Command {
  const title =
    kind === "popgym"
      ? "train an agent on a POPGym labyrinth (REINFORCE; SparseNet sgprop/backprop, GRU, LSTM)"
      : kind === "dni"
        ? "run an experiment of Czarnecki et al. 2017 on decoupled neural interfaces (@sgprop/dni)"
        : "train an agent on the noisy MNIST contextual bandit (SparseNet sgprop/backprop, MLP)";
  const cmd = new Command(kind).description(title);
  addPresetFlags(cmd, kind);
  cmd
    .option("--out <dir>", "results folder (default: runs/<kind>-<model>-<algorithm>-s<seed>-<time>)")
    .option("--overwrite", "replace an existing results folder")
    .option("--resume <dir>", "continue the run in <dir> from its last checkpoint")
    .option(
      "--checkpoint-every <units>",
      `checkpoint period in ${unitsName(kind)} (default: ${defaultCheckpointEvery(kind)})`,
      positiveInt(),
    )
    .option("--keep-checkpoints <n>", "checkpoints kept on disk, newest first (default: 2)", positiveInt())
    .addOption(
      new Option("--progress <mode>", "progress display; auto = bar on a terminal, lines otherwise")
        .choices(["auto", "bar", "lines", "none"])
        .default("auto"),
    )
    .option("--no-plots", "skip curves.svg/curves.png")
    .option("--print-config", "print the resolved settings as JSON and exit");
  addParamFlags(cmd, kind);
  cmd.action(async (flags: TrainFlags) => {
    setExit(await runTrainCommand(kind, cmd, flags, out));
  });
  return cmd;
}

async function runTrainCommand(
  kind: TrainKind,
  cmd: Command,
  flags: TrainFlags,
  out: Output,
): Promise<number> {
  const cli = explicitParams(cmd, kind);
  const factory = await trainerFactory(kind);
  let run: PreparedRun;
  if (flags.resume !== undefined) {
    for (const [flag, given] of [
      ["--preset", flags.preset],
      ["--config", flags.config],
      ["--out", flags.out],
      ["--overwrite", flags.overwrite],
      ["--checkpoint-every", flags.checkpointEvery],
      ["--keep-checkpoints", flags.keepCheckpoints],
    ] as const) {
      if (given !== undefined)
        throw new InvalidOptionError(
          flag,
          given,
          `nothing together with --resume (the run's config.json is used)`,
        );
    }
    if (flags.printConfig) {
      const config = readRunConfig(resolve(flags.resume));
      out.info(JSON.stringify({ ...config.options, ...cli }, null, 2));
      return ExitCode.ok;
    }
    run = await prepareResume(flags.resume, kind, cli, factory, (m) => out.error(`warning: ${m}`));
    if (run.alreadyComplete) {
      // A run killed between summary.json and its curves (older versions wrote them in that
      // order) would otherwise never get them.
      const missing = flags.plots && !existsSync(join(run.dir, `${RUN_FILES.curves}.svg`));
      try {
        if (missing) await writeRunCurves(run.dir, run.config);
      } finally {
        run.abandon();
      }
      out.info(
        `${flags.resume} is already complete (${run.trainer.total} ${unitsName(kind)}); ${missing ? "drew its missing curves" : "nothing to do"}.`,
      );
      return ExitCode.ok;
    }
  } else {
    const settings = resolveSettings({
      kind,
      ...optional("preset", flags.preset),
      ...optional("configFile", flags.config),
      cli,
    });
    if (flags.printConfig) {
      out.info(JSON.stringify(settings.options, null, 2));
      return ExitCode.ok;
    }
    const harness = settings.harness;
    const outDir = flags.out ?? harnessPath(harness.out) ?? defaultRunDir(kind, settings.options);
    if (kind === "bandit") checkBanditData(settings.options);
    if (kind === "dni") checkBanditData({ ...settings.options, classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
    run = await prepareNewRun(
      {
        kind,
        options: settings.options,
        outDir,
        checkpointEvery:
          flags.checkpointEvery ??
          numberOr(harness.checkpointEvery, "checkpointEvery", defaultCheckpointEvery(kind)),
        keepCheckpoints: flags.keepCheckpoints ?? numberOr(harness.keepCheckpoints, "keepCheckpoints", 2),
        ...optional("preset", settings.preset),
        ...optional("configFile", flags.config),
        argv: process.argv.slice(2),
      },
      factory,
      flags.overwrite === true,
    );
  }
  const summary = await trainWithProgress(run, flags.progress, flags.plots, out);
  printRunReport(run, summary, out, flags.plots);
  return summary.status === "complete" ? ExitCode.ok : ExitCode.interrupted;
}

function harnessPath(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "")
    throw new InvalidOptionError("out in the config file", value, "a folder path");
  return value;
}

function numberOr(value: unknown, key: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1)
    throw new InvalidOptionError(`${key} in the config file`, value, "an integer >= 1");
  return value;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** Runs a prepared run with a progress display; Ctrl-C stops after the current unit with a checkpoint. */
export async function trainWithProgress(
  run: PreparedRun,
  mode: ProgressMode,
  plots: boolean,
  out: Output,
): Promise<RunSummary> {
  const kind = run.config.kind;
  const o = run.config.options;
  const label =
    kind === "popgym"
      ? `${o.env} ${o.model}/${o.algorithm}`
      : kind === "dni"
        ? `dni ${o.experiment}`
        : `bandit ${o.model}/${o.algorithm}`;
  const progress = createProgress(mode, label, out.stream);
  const live = headlineMetrics(kind).live;
  const latest: Record<string, number | undefined> = Object.fromEntries(live.map((m) => [m, undefined]));
  const controller = new AbortController();
  // SIGTERM (schedulers, `kill`) and the end of a parent pnpm stop the same way as Ctrl-C.
  const removeHandlers = onStopRequest((reason) => {
    if (controller.signal.aborted) process.exit(ExitCode.interrupted);
    controller.abort();
    out.error(`\n${reason}: stopping after this unit with a checkpoint (interrupt again to quit at once)`);
  });
  out.info(
    run.resumedFrom === undefined
      ? `results: ${run.dir}`
      : `resuming ${run.dir} from ${unitName(kind)} ${run.resumedFrom}`,
  );
  try {
    return await executeRun(run, {
      signal: controller.signal,
      plots,
      onStart: (completed, total) => progress.start(total, completed),
      onRow: (completed, total, train, evalRow) => {
        for (const m of live) {
          const v = evalRow?.[m] ?? train[m];
          if (v !== undefined) latest[m] = v;
        }
        progress.update({ completed, total, metrics: latest });
      },
    });
  } finally {
    progress.stop();
    removeHandlers();
    run.trainer.dispose();
  }
}

export function printRunReport(run: PreparedRun, summary: RunSummary, out: Output, plots = true): void {
  const kind = run.config.kind;
  const o = run.config.options;
  const rows = Object.entries(summary.metrics)
    .filter(([name]) => !name.startsWith("perf/"))
    .map(([name, s]) => [
      name,
      formatNumber(s.last),
      formatNumber(s.lastTenthMean),
      formatNumber(s.best),
      formatNumber(s.auc),
    ]);
  out.info("");
  out.info(textTable(["metric", "last", "mean last 10%", "best", "mean (AUC)"], rows));
  out.info("");
  const status = summary.status === "complete" ? "finished" : "interrupted (resume with --resume)";
  out.info(
    `${status}: ${summary.completed}/${summary.total} ${unitsName(kind)} in ${summary.seconds.toFixed(1)} s`,
  );
  out.info(`results in ${run.dir}:`);
  for (const f of [
    RUN_FILES.config,
    RUN_FILES.metrics,
    ...(kind === "bandit" ||
    (kind === "dni" && (o.experiment === "mnist" || o.experiment === "representations"))
      ? [RUN_FILES.eval]
      : []),
    RUN_FILES.summary,
    "checkpoints/",
    ...(plots ? [`${RUN_FILES.curves}.svg`, `${RUN_FILES.curves}.png`] : []),
  ]) {
    out.info(`  ${join(run.dir, f)}`);
  }
}
