import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { IncompatibleCheckpointError, ResultsFolderError } from "../errors.js";
import { RUN_CONFIG_FORMAT } from "../options/config-file.js";
import type { TrainKind } from "../options/presets.js";
import type { ResolvedOptions } from "../options/resolve.js";
import { renderFigure } from "../plot/index.js";
import type { MetricsRow, Trainer, TrainerFactory } from "../trainers/types.js";
import { runCurvesSpec } from "./curves.js";
import {
  CsvAppender,
  readJson,
  readMetricsCsv,
  rowsAsRecords,
  truncateMetricsCsv,
  writeJsonAtomic,
} from "./files.js";
import { headlineMetrics, type MetricSummary, summariseSeries, unitColumn } from "./metrics.js";
import { collectVersions, gitState, machine } from "./provenance.js";

export const RUN_FILES = {
  config: "config.json",
  metrics: "metrics.csv",
  eval: "eval.csv",
  summary: "summary.json",
  error: "error.json",
  checkpoints: "checkpoints",
  checkpointIndex: "checkpoints/index.json",
  curves: "curves",
} as const;

/** What config.json holds. */
export interface RunConfig {
  readonly format: typeof RUN_CONFIG_FORMAT;
  readonly kind: TrainKind;
  readonly options: ResolvedOptions;
  readonly seed: number;
  readonly harness: { readonly checkpointEvery: number; readonly keepCheckpoints: number };
  readonly preset?: string;
  readonly configFile?: string;
  readonly sweep?: {
    readonly name: string;
    readonly runId: string;
    readonly method: string;
    readonly params: Record<string, unknown>;
  };
  readonly trainer: { readonly implementation: string; readonly backend?: string };
  readonly versions: Record<string, string>;
  readonly git?: { readonly commit: string; readonly dirty: boolean };
  readonly machine: ReturnType<typeof machine>;
  readonly argv: readonly string[];
  readonly createdAt: string;
}

export interface CheckpointEntry {
  readonly completed: number;
  readonly dir: string;
  readonly trainRows: number;
  readonly evalRows: number;
}

export interface RunSummary {
  readonly status: "complete" | "interrupted";
  readonly kind: TrainKind;
  readonly completed: number;
  readonly total: number;
  readonly metrics: Record<string, MetricSummary>;
  readonly primaryMetric: string;
  readonly seconds: number;
  readonly sessions: number;
  readonly finishedAt: string;
}

export interface RunSettings {
  readonly kind: TrainKind;
  readonly options: ResolvedOptions;
  readonly outDir: string;
  readonly checkpointEvery: number;
  readonly keepCheckpoints: number;
  readonly preset?: string;
  readonly configFile?: string;
  readonly sweep?: RunConfig["sweep"];
  readonly argv?: readonly string[];
  readonly plots?: boolean;
}

export interface RunEvents {
  onStart?(completed: number, total: number): void;
  onRow?(completed: number, total: number, train: MetricsRow, evalRow: MetricsRow | undefined): void;
}

/** A run ready to execute: the trainer exists, the folder is prepared, nothing can fail on input. */
export interface PreparedRun {
  readonly dir: string;
  readonly config: RunConfig;
  readonly trainer: Trainer;
  readonly resumedFrom?: number;
  readonly alreadyComplete: boolean;
  readonly previousSessions: number;
  readonly previousSeconds: number;
  /** Performs the writes that make the folder a run folder (skipped on validation failures). */
  commit(): { train: CsvAppender; eval: CsvAppender };
}

function isNonEmptyDir(path: string): boolean {
  return existsSync(path) && readdirSync(path).length > 0;
}

/** Starts a new run: refuses an existing folder unless `overwrite`; writes nothing until commit(). */
export async function prepareNewRun(
  settings: RunSettings,
  factory: TrainerFactory,
  overwrite: boolean,
): Promise<PreparedRun> {
  const dir = resolve(settings.outDir);
  if (existsSync(dir) && !overwrite && isNonEmptyDir(dir)) {
    throw new ResultsFolderError(
      `results folder ${settings.outDir} already exists; pass --overwrite to replace it or --resume ${settings.outDir} to continue it`,
    );
  }
  const trainer = await factory.create({ ...settings.options });
  const config: RunConfig = {
    format: RUN_CONFIG_FORMAT,
    kind: settings.kind,
    options: settings.options,
    seed: Number(settings.options.seed),
    harness: { checkpointEvery: settings.checkpointEvery, keepCheckpoints: settings.keepCheckpoints },
    ...(settings.preset === undefined ? {} : { preset: settings.preset }),
    ...(settings.configFile === undefined ? {} : { configFile: settings.configFile }),
    ...(settings.sweep === undefined ? {} : { sweep: settings.sweep }),
    trainer: { implementation: factory.implementation, ...optionalBackend(factory, settings.options) },
    versions: collectVersions(),
    ...optionalGit(),
    machine: machine(),
    argv: settings.argv ?? [],
    createdAt: new Date().toISOString(),
  };
  return {
    dir,
    config,
    trainer,
    alreadyComplete: false,
    previousSessions: 0,
    previousSeconds: 0,
    commit() {
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
      mkdirSync(join(dir, RUN_FILES.checkpoints), { recursive: true });
      writeJsonAtomic(join(dir, RUN_FILES.config), config);
      writeJsonAtomic(join(dir, RUN_FILES.checkpointIndex), []);
      return {
        train: new CsvAppender(join(dir, RUN_FILES.metrics)),
        eval: new CsvAppender(join(dir, RUN_FILES.eval)),
      };
    },
  };
}

function optionalBackend(factory: TrainerFactory, options: ResolvedOptions): { backend?: string } {
  const b = factory.backend?.() ?? (options.backend as string | undefined);
  return b === undefined ? {} : { backend: b };
}

function optionalGit(): { git?: { commit: string; dirty: boolean } } {
  const g = gitState();
  return g === undefined ? {} : { git: g };
}

export function readRunConfig(dir: string): RunConfig {
  const path = join(dir, RUN_FILES.config);
  if (!existsSync(path))
    throw new ResultsFolderError(`${dir} is not a run folder: ${RUN_FILES.config} is missing`);
  let config: RunConfig;
  try {
    config = readJson<RunConfig>(path);
  } catch (error) {
    throw new ResultsFolderError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (config.format !== RUN_CONFIG_FORMAT) {
    throw new ResultsFolderError(
      `${path} is not an sgprop run config (format ${JSON.stringify(config.format)})`,
    );
  }
  return config;
}

/**
 * Continues the run in `dir` from its last checkpoint. `requested` holds settings the user passed
 * explicitly: each must equal the recorded one, else the checkpoint is incompatible.
 */
export async function prepareResume(
  dir: string,
  kind: TrainKind,
  requested: Readonly<Record<string, unknown>>,
  factory: TrainerFactory,
): Promise<PreparedRun> {
  const abs = resolve(dir);
  const config = readRunConfig(abs);
  if (config.kind !== kind) {
    throw new IncompatibleCheckpointError(
      `${dir} holds a ${config.kind} run; resume it with \`sgprop train ${config.kind} --resume ${dir}\``,
    );
  }
  for (const [key, value] of Object.entries(requested)) {
    const recorded = config.options[key];
    if (JSON.stringify(recorded) !== JSON.stringify(value)) {
      throw new IncompatibleCheckpointError(
        `cannot resume ${dir} with ${key}=${JSON.stringify(value)}: its checkpoint was trained with ${key}=${JSON.stringify(recorded)}`,
      );
    }
  }
  const index = readCheckpointIndex(abs);
  const last = index[index.length - 1];
  const summaryPath = join(abs, RUN_FILES.summary);
  const previous = existsSync(summaryPath) ? readJson<RunSummary>(summaryPath) : undefined;
  let trainer: Trainer;
  try {
    trainer =
      last === undefined
        ? await factory.create({ ...config.options })
        : await factory.restore(join(abs, RUN_FILES.checkpoints, last.dir), { ...config.options });
  } catch (error) {
    throw new IncompatibleCheckpointError(
      `cannot restore ${last === undefined ? "a fresh trainer" : `checkpoint ${last.dir}`} of ${dir}: ${(error as Error).message}`,
    );
  }
  const resumedFrom = last?.completed ?? 0;
  if (trainer.completed !== resumedFrom) {
    trainer.dispose();
    throw new IncompatibleCheckpointError(
      `checkpoint ${last?.dir} restored at ${trainer.completed} units, index says ${resumedFrom}`,
    );
  }
  return {
    dir: abs,
    config,
    trainer,
    resumedFrom,
    alreadyComplete: previous?.status === "complete" && trainer.completed >= trainer.total,
    previousSessions: previous?.sessions ?? 1,
    previousSeconds: previous?.seconds ?? 0,
    commit() {
      // Rows written after the last checkpoint are dropped: the restored trainer produces them again.
      const metricsPath = join(abs, RUN_FILES.metrics);
      const evalPath = join(abs, RUN_FILES.eval);
      const trainCols = truncateMetricsCsv(metricsPath, last?.trainRows ?? 0);
      const evalCols = truncateMetricsCsv(evalPath, last?.evalRows ?? 0);
      rmSync(join(abs, RUN_FILES.error), { force: true });
      return {
        train: new CsvAppender(metricsPath, trainCols, last?.trainRows ?? 0),
        eval: new CsvAppender(evalPath, evalCols, last?.evalRows ?? 0),
      };
    },
  };
}

export function readCheckpointIndex(dir: string): CheckpointEntry[] {
  const path = join(dir, RUN_FILES.checkpointIndex);
  if (!existsSync(path)) return [];
  return readJson<CheckpointEntry[]>(path);
}

export function checkpointName(completed: number): string {
  return `unit-${String(completed).padStart(6, "0")}`;
}

/** A trainer error during a run; error.json holds the details and the run can be resumed. */
export class RunFailedError extends Error {
  override readonly name = "RunFailedError";
  constructor(
    readonly dir: string,
    readonly completed: number,
    readonly lastCheckpoint: number,
    override readonly cause: Error,
  ) {
    super(
      `run failed after ${completed} units: ${cause.name}: ${cause.message} (details in ${join(dir, RUN_FILES.error)}; --resume ${dir} continues from unit ${lastCheckpoint})`,
    );
  }
}

export interface ExecuteOptions extends RunEvents {
  /** Stops after the current unit, with a checkpoint (Ctrl-C). */
  readonly signal?: AbortSignal;
  readonly plots?: boolean;
}

/** Trains to the end (or until aborted), writing rows, checkpoints, summary.json and the curves. */
export async function executeRun(run: PreparedRun, opts: ExecuteOptions = {}): Promise<RunSummary> {
  const { trainer, dir, config } = run;
  const started = Date.now();
  const files = run.commit();
  const { checkpointEvery, keepCheckpoints } = config.harness;
  let index = readCheckpointIndex(dir);
  const checkpoint = async () => {
    const name = checkpointName(trainer.completed);
    const target = join(dir, RUN_FILES.checkpoints, name);
    // A folder of that name not in the index is left over from a crash after the trainer saved
    // but before the index was written: stale, since this run continues from an earlier checkpoint.
    rmSync(target, { recursive: true, force: true });
    await trainer.saveCheckpoint(target);
    index = [
      ...index.filter((e) => e.dir !== name),
      { completed: trainer.completed, dir: name, trainRows: files.train.rows, evalRows: files.eval.rows },
    ];
    const keep = Math.max(1, keepCheckpoints);
    const removed = index.slice(0, Math.max(0, index.length - keep));
    index = index.slice(-keep);
    writeJsonAtomic(join(dir, RUN_FILES.checkpointIndex), index);
    for (const e of removed)
      rmSync(join(dir, RUN_FILES.checkpoints, e.dir), { recursive: true, force: true });
  };
  opts.onStart?.(trainer.completed, trainer.total);
  let interrupted = false;
  try {
    while (trainer.completed < trainer.total) {
      const rows = await trainer.next();
      files.train.append(rows.train);
      if (rows.eval !== undefined) files.eval.append(rows.eval);
      opts.onRow?.(trainer.completed, trainer.total, rows.train, rows.eval);
      const atEnd = trainer.completed >= trainer.total;
      if (atEnd || trainer.completed % checkpointEvery === 0) await checkpoint();
      else if (opts.signal?.aborted) await checkpoint();
      if (opts.signal?.aborted && !atEnd) {
        interrupted = true;
        break;
      }
    }
    if (!interrupted && index[index.length - 1]?.completed !== trainer.completed) await checkpoint();
  } catch (error) {
    const e = error as Error;
    const lastCheckpoint = index[index.length - 1]?.completed ?? 0;
    writeJsonAtomic(join(dir, RUN_FILES.error), {
      error: `${e.name}: ${e.message}`,
      stack: e.stack,
      completed: trainer.completed,
      lastCheckpoint,
      at: new Date().toISOString(),
    });
    throw new RunFailedError(dir, trainer.completed, lastCheckpoint, e);
  } finally {
    files.train.close();
    files.eval.close();
  }
  const summary = summariseRun(dir, config.kind, {
    status: interrupted ? "interrupted" : "complete",
    completed: trainer.completed,
    total: trainer.total,
    seconds: run.previousSeconds + (Date.now() - started) / 1000,
    sessions: run.previousSessions + 1,
  });
  writeJsonAtomic(join(dir, RUN_FILES.summary), summary);
  if (opts.plots !== false) await writeRunCurves(dir, config);
  return summary;
}

export function summariseRun(
  dir: string,
  kind: TrainKind,
  facts: Pick<RunSummary, "status" | "completed" | "total" | "seconds" | "sessions">,
): RunSummary {
  const metrics: Record<string, MetricSummary> = {};
  for (const file of [RUN_FILES.metrics, RUN_FILES.eval]) {
    const csv = readMetricsCsv(join(dir, file));
    csv.columns.forEach((column, i) => {
      if (column === unitColumn(kind)) return;
      const s = summariseSeries(csv.rows.map((r) => r[i] ?? Number.NaN));
      if (s !== undefined) metrics[column] = s;
    });
  }
  return {
    ...facts,
    kind,
    metrics,
    primaryMetric: headlineMetrics(kind).primary,
    finishedAt: new Date().toISOString(),
  };
}

export async function writeRunCurves(dir: string, config: RunConfig): Promise<{ svg: string; png: string }> {
  const train = rowsAsRecords(readMetricsCsv(join(dir, RUN_FILES.metrics)));
  const evalRows = rowsAsRecords(readMetricsCsv(join(dir, RUN_FILES.eval)));
  const o = config.options;
  const title = `${config.kind} ${o.model} ${o.algorithm}${config.kind === "popgym" ? ` ${o.env}` : ""} seed ${o.seed} (${basename(dir)})`;
  return renderFigure(runCurvesSpec(config.kind, title, train, evalRows), join(dir, RUN_FILES.curves));
}
