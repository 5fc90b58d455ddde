import { rmSync } from "node:fs";
import { basename, join } from "node:path";
import { conciseError } from "../errors.js";
import type { TrainKind } from "../options/presets.js";
import { renderFigure } from "../plot/index.js";
import { type CheckpointEntry, checkpointName, sealCheckpoint } from "./checkpoints.js";
import { runCurvesSpec } from "./curves.js";
import { writeDniFigures } from "./dni-figures.js";
import { readMetricsCsv, rowsAsRecords, writeJsonAtomic } from "./files.js";
import { RUN_FILES } from "./layout.js";
import { headlineMetrics, type MetricSummary, summariseSeries, unitColumn } from "./metrics.js";
import type { PreparedRun, RunConfig, RunSummary } from "./prepare.js";

export { type CheckpointEntry, checkpointName, readCheckpointIndex } from "./checkpoints.js";
export {
  type PreparedRun,
  prepareNewRun,
  prepareResume,
  RUN_FILES,
  type RunConfig,
  type RunSettings,
  type RunSummary,
  readRunConfig,
} from "./prepare.js";

export interface RunEvents {
  onStart?(completed: number, total: number): void;
  onRow?(
    completed: number,
    total: number,
    train: Readonly<Record<string, number>>,
    evalRow: Readonly<Record<string, number>> | undefined,
  ): void;
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

/** The step and tensor of a NonFiniteError from @sgprop/agents (matched by shape, not import). */
function nonFiniteDetails(e: Error): { step?: number; tensor?: string } {
  const r = e as Error & { step?: unknown; tensorName?: unknown };
  return e.name === "NonFiniteError" && typeof r.step === "number" && typeof r.tensorName === "string"
    ? { step: r.step, tensor: r.tensorName }
    : {};
}

/** Trains to the end (or until aborted), writing rows, checkpoints, summary.json and the curves. */
export async function executeRun(run: PreparedRun, opts: ExecuteOptions = {}): Promise<RunSummary> {
  const { trainer, dir, config } = run;
  const started = Date.now();
  const files = run.commit();
  const { checkpointEvery, keepCheckpoints } = config.harness;
  let index: CheckpointEntry[] = files.index;
  const checkpoint = async () => {
    const name = checkpointName(trainer.completed);
    const target = join(dir, RUN_FILES.checkpoints, name);
    // A folder of that name not in the index is left over from a crash after the trainer saved
    // but before the index was written: stale, since this run continues from an earlier checkpoint.
    rmSync(target, { recursive: true, force: true });
    await trainer.saveCheckpoint(target);
    // Durable and checksummed before the index points at it.
    const sha256 = sealCheckpoint(target);
    index = [
      ...index.filter((e) => e.dir !== name),
      {
        completed: trainer.completed,
        dir: name,
        trainRows: files.train.rows,
        evalRows: files.eval.rows,
        sha256,
      },
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
  // Units whose rows are written and whose state was not found broken.
  let good = trainer.completed;
  try {
    while (trainer.completed < trainer.total) {
      const rows = await trainer.next();
      files.train.append(rows.train);
      if (rows.eval !== undefined) files.eval.append(rows.eval);
      opts.onRow?.(trainer.completed, trainer.total, rows.train, rows.eval);
      // A trainer whose units are synchronous (dni's float64 experiments) never lets the event
      // loop run: without this turn, SIGINT/SIGTERM handlers (which abort opts.signal) would wait
      // for the end of the run instead of the end of the unit.
      await new Promise<void>((resolve) => setImmediate(resolve));
      files.lock.renew();
      if (files.lock.lost !== undefined) throw new Error(`lost the lock of ${dir}: ${files.lock.lost}`);
      const atEnd = trainer.completed >= trainer.total;
      if (atEnd || trainer.completed % checkpointEvery === 0) await checkpoint();
      else if (opts.signal?.aborted) await checkpoint();
      good = trainer.completed;
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
      ...nonFiniteDetails(e),
      stack: conciseError(e),
      completed: good,
      lastCheckpoint,
      lastCheckpointDir: lastCheckpoint === 0 ? null : checkpointName(lastCheckpoint),
      resume: `--resume ${dir}`,
      at: new Date().toISOString(),
    });
    files.train.close();
    files.eval.close();
    files.lock.release();
    throw new RunFailedError(dir, good, lastCheckpoint, e);
  }
  files.train.close();
  files.eval.close();
  try {
    // Curves before summary.json: summary.json marks a finished run, so a kill in between leaves
    // a run that resuming completes (curves included) instead of one that never draws them.
    if (opts.plots !== false) await writeRunCurves(dir, config);
    const summary = summariseRun(dir, config.kind, {
      status: interrupted ? "interrupted" : "complete",
      completed: trainer.completed,
      total: trainer.total,
      seconds: run.previousSeconds + (Date.now() - started) / 1000,
      sessions: run.previousSessions + 1,
    });
    writeJsonAtomic(join(dir, RUN_FILES.summary), summary);
    return summary;
  } finally {
    files.lock.release();
  }
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
  if (config.kind === "dni") return writeDniFigures(dir, config, train, evalRows);
  const o = config.options;
  const what = config.kind === "bp-lambda" ? `${o.task} ${o.method}` : `${o.model} ${o.algorithm}`;
  const title = `${config.kind} ${what}${config.kind === "popgym" ? ` ${o.env}` : ""} seed ${o.seed} (${basename(dir)})`;
  return renderFigure(runCurvesSpec(config.kind, title, train, evalRows), join(dir, RUN_FILES.curves));
}
