import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { IncompatibleCheckpointError, ResultsFolderError, UsageError } from "../errors.js";
import { RUN_CONFIG_FORMAT } from "../options/config-file.js";
import type { TrainKind } from "../options/presets.js";
import type { ResolvedOptions } from "../options/resolve.js";
import type { Trainer, TrainerFactory } from "../trainers/types.js";
import {
  type CheckpointEntry,
  checkpointDamage,
  checkpointFolders,
  loadIndexForResume,
} from "./checkpoints.js";
import { CsvAppender, truncateMetricsCsv, writeJsonAtomic } from "./files.js";
import { RUN_FILES } from "./layout.js";
import { FolderLock } from "./lock.js";
import { type MetricSummary, unitColumn } from "./metrics.js";
import { checkNewRunFolder, clearRunFolder, makeFolder, removeLeftovers } from "./out-dir.js";
import { collectVersions, gitState, machine } from "./provenance.js";

export { RUN_FILES } from "./layout.js";

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

/** The open files of a run being written; the lock is held until the run ends. */
export interface RunFiles {
  readonly train: CsvAppender;
  readonly eval: CsvAppender;
  readonly lock: FolderLock;
  /** The checkpoints the run continues from (the index as it will be rewritten). */
  readonly index: CheckpointEntry[];
}

/** A run ready to execute: the trainer exists, the folder is checked, nothing can fail on input. */
export interface PreparedRun {
  readonly dir: string;
  readonly config: RunConfig;
  readonly trainer: Trainer;
  readonly resumedFrom?: number;
  readonly alreadyComplete: boolean;
  readonly previousSessions: number;
  readonly previousSeconds: number;
  /** Performs the writes that make the folder a run folder (skipped on validation failures). */
  commit(): RunFiles;
  /** Releases what preparing took (the trainer, a lock) when the run is not executed. */
  abandon(): void;
}

/** Errors of trainer construction that mean bad settings or data, not a bug: exit code 2. */
const CONFIG_ERRORS = new Set([
  "ClassSubsetError",
  "InvalidOptionError",
  "IdxFormatError",
  "DatasetMismatchError",
  "DatasetNotFoundError",
  "BackendUnavailableError",
  "InvalidConfigError",
  "RecurrentConfigError",
  "ReferenceSeedError",
]);

/** Creates a trainer; bad settings or data it detects become usage errors (exit code 2). */
export async function createTrainer(factory: TrainerFactory, options: ResolvedOptions): Promise<Trainer> {
  try {
    return await factory.create({ ...options });
  } catch (error) {
    const e = error as Error;
    if (CONFIG_ERRORS.has(e.name) || e instanceof RangeError)
      throw new UsageError(`cannot start the run: ${e.message}`);
    throw error;
  }
}

/** Starts a new run: refuses an existing folder unless `overwrite`; writes nothing until commit(). */
export async function prepareNewRun(
  settings: RunSettings,
  factory: TrainerFactory,
  overwrite: boolean,
): Promise<PreparedRun> {
  const dir = checkNewRunFolder(settings.outDir, overwrite);
  const trainer = await createTrainer(factory, settings.options);
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
      makeFolder(dir);
      const lock = FolderLock.acquire(dir);
      try {
        clearRunFolder(dir);
        mkdirSync(join(dir, RUN_FILES.checkpoints), { recursive: true });
        writeJsonAtomic(join(dir, RUN_FILES.config), config);
        writeJsonAtomic(join(dir, RUN_FILES.checkpointIndex), []);
      } catch (error) {
        lock.release();
        throw error;
      }
      return {
        train: new CsvAppender(join(dir, RUN_FILES.metrics)),
        eval: new CsvAppender(join(dir, RUN_FILES.eval)),
        lock,
        index: [],
      };
    },
    abandon() {
      trainer.dispose();
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

/** Reads a JSON bookkeeping file; a damaged one is refused by name (exit code 2). */
export function readBookkeeping<T>(path: string, check: (v: unknown) => boolean, expected: string): T {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ResultsFolderError(`${path} is damaged: ${(error as Error).message}`);
  }
  if (!check(value)) throw new ResultsFolderError(`${path} is damaged: expected ${expected}`);
  return value as T;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export function readRunConfig(dir: string): RunConfig {
  const path = join(dir, RUN_FILES.config);
  if (!existsSync(path))
    throw new ResultsFolderError(`${dir} is not a run folder: ${RUN_FILES.config} is missing`);
  const config = readBookkeeping<RunConfig>(
    path,
    (v) => isObject(v) && v.format === RUN_CONFIG_FORMAT && isObject(v.options) && isObject(v.harness),
    `an sgprop run config (format ${RUN_CONFIG_FORMAT})`,
  );
  return config;
}

function countRows(path: string): number {
  if (!existsSync(path)) return 0;
  const lines = readFileSync(path, "utf8").split("\n");
  lines.pop();
  return Math.max(0, lines.length - 1);
}

/**
 * The newest checkpoint whose files match their sha256; damaged ones are named and skipped. None
 * left while some existed is refused: starting over would silently discard the run.
 */
function newestIntact(dir: string, index: CheckpointEntry[], warn: (m: string) => void): CheckpointEntry[] {
  for (let i = index.length - 1; i >= 0; i--) {
    const entry = index[i] as CheckpointEntry;
    const damage = checkpointDamage(dir, entry);
    if (damage === undefined) return index.slice(0, i + 1);
    warn(
      i > 0
        ? `checkpoint ${entry.dir} cannot be used: ${damage}; falling back to ${(index[i - 1] as CheckpointEntry).dir}`
        : `checkpoint ${entry.dir} cannot be used: ${damage}`,
    );
  }
  if (index.length > 0) {
    throw new ResultsFolderError(
      `no intact checkpoint is left in ${join(dir, RUN_FILES.checkpoints)} (see the warnings above); start the run again with --overwrite`,
    );
  }
  return [];
}

/**
 * Continues the run in `dir` from its last intact checkpoint. `requested` holds settings the user
 * passed explicitly: each must equal the recorded one, else the checkpoint is incompatible. The
 * folder is locked from here on, so a second writer is refused before it reads anything.
 */
export async function prepareResume(
  dir: string,
  kind: TrainKind,
  requested: Readonly<Record<string, unknown>>,
  factory: TrainerFactory,
  warn: (message: string) => void = (m) => process.stderr.write(`warning: ${m}\n`),
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
  const lock = FolderLock.acquire(abs, { warn });
  try {
    return await prepareLockedResume(abs, dir, config, factory, lock, warn);
  } catch (error) {
    lock.release();
    throw error;
  }
}

async function prepareLockedResume(
  abs: string,
  dir: string,
  config: RunConfig,
  factory: TrainerFactory,
  lock: FolderLock,
  warn: (message: string) => void,
): Promise<PreparedRun> {
  const kind = config.kind;
  const index = newestIntact(abs, loadIndexForResume(abs, unitColumn(kind), warn), warn);
  const last = index[index.length - 1];
  const metricsPath = join(abs, RUN_FILES.metrics);
  const evalPath = join(abs, RUN_FILES.eval);
  for (const [path, needed] of [
    [metricsPath, last?.trainRows ?? 0],
    [evalPath, last?.evalRows ?? 0],
  ] as const) {
    const have = countRows(path);
    if (have < needed) {
      throw new ResultsFolderError(
        `${path} has ${have} complete rows but checkpoint ${last?.dir} recorded ${needed}; the rows in between are lost, so the run cannot continue (start it again with --overwrite)`,
      );
    }
  }
  const summaryPath = join(abs, RUN_FILES.summary);
  const previous = existsSync(summaryPath)
    ? readBookkeeping<RunSummary>(
        summaryPath,
        (v) => isObject(v) && typeof v.status === "string",
        "a run summary",
      )
    : undefined;
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
  const keep = new Set(index.map((e) => e.dir));
  return {
    dir: abs,
    config,
    trainer,
    resumedFrom,
    alreadyComplete: previous?.status === "complete" && trainer.completed >= trainer.total,
    previousSessions: previous?.sessions ?? 1,
    previousSeconds: previous?.seconds ?? 0,
    commit() {
      removeLeftovers(abs);
      // Checkpoints past the one resumed from (damaged, or unindexed) would be taken for this
      // run's on a later rebuild of the index: the resumed run writes its own.
      for (const f of checkpointFolders(abs))
        if (!keep.has(f.name))
          rmSync(join(abs, RUN_FILES.checkpoints, f.name), { recursive: true, force: true });
      mkdirSync(join(abs, RUN_FILES.checkpoints), { recursive: true });
      writeJsonAtomic(join(abs, RUN_FILES.checkpointIndex), index);
      // Rows written after the checkpoint are dropped: the restored trainer produces them again.
      const trainCols = truncateMetricsCsv(metricsPath, last?.trainRows ?? 0);
      const evalCols = truncateMetricsCsv(evalPath, last?.evalRows ?? 0);
      rmSync(join(abs, RUN_FILES.error), { force: true });
      return {
        train: new CsvAppender(metricsPath, trainCols, last?.trainRows ?? 0),
        eval: new CsvAppender(evalPath, evalCols, last?.evalRows ?? 0),
        lock,
        index: [...index],
      };
    },
    abandon() {
      trainer.dispose();
      lock.release();
    },
  };
}
