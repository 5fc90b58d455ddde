import { existsSync, mkdirSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";
import { DelayedError, type Job, Queue, UnrecoverableError, Worker } from "bullmq";
import type { Output } from "../cli/output.js";
import { onStopRequest } from "../cli/stop-signals.js";
import { writeJsonAtomic } from "../run/files.js";
import { RUN_FILES } from "../run/layout.js";
import type { RunTask } from "../sweep/messages.js";
import { SWEEP_FILES } from "../sweep/run-sweep.js";
import type { ExpandedSweep } from "../sweep/spec.js";
import { readSweepSpec } from "../sweep/spec-file.js";
import { writeFolderStatus } from "./folder-status.js";
import { QUEUE_NAME, type RunJobData, workerConnection } from "./jobs.js";
import { RunThread } from "./pool.js";
import { type QueueUrl, redact } from "./url.js";

export interface WorkerSettings {
  readonly url: QueueUrl;
  /** Runs at once in this process, each in its own worker thread. */
  readonly slots: number;
  /** BullMQ's job lock (renewed every half of it by this process's event loop). */
  readonly lockDurationMs: number;
  /** How often this worker looks for jobs whose lock expired (a dead worker's). */
  readonly stalledIntervalMs: number;
  /** Stalls after which a job fails instead of going back to the queue. */
  readonly maxStalled: number;
  /** Only sweep folders inside this folder are accepted (default: any). */
  readonly root?: string;
  /** Exit once the queue holds no waiting, delayed or active job. */
  readonly drain: boolean;
  /** Wait before a job whose run folder another live process writes is tried again. */
  readonly lockedRetryMs: number;
}

export interface WorkerOutcome {
  readonly done: number;
  readonly failed: number;
  readonly stopped: boolean;
}

/** sweep.json files by folder, re-read when they change (a sweep file re-enqueued with --out). */
const specCache = new Map<string, { mtimeMs: number; sweep: ExpandedSweep }>();

function loadSweep(dir: string): ExpandedSweep {
  const path = join(dir, SWEEP_FILES.spec);
  const mtimeMs = statSync(path).mtimeMs;
  const cached = specCache.get(dir);
  if (cached !== undefined && cached.mtimeMs === mtimeMs) return cached.sweep;
  const sweep = readSweepSpec(path);
  specCache.set(dir, { mtimeMs, sweep });
  return sweep;
}

/**
 * What a job may ask for: a run of a sweep.json that `sgprop sweep` validated and wrote. The job
 * carries only a folder and a run id; settings come from sweep.json, never from the queue, so a
 * queue writer cannot make a worker run anything but sgprop training runs of existing sweeps.
 */
export function taskOfJob(data: unknown, root: string | undefined): RunTask {
  const d = data as Partial<RunJobData> | null;
  if (typeof d !== "object" || d === null || typeof d.sweepDir !== "string" || typeof d.runId !== "string")
    throw new UnrecoverableError("job data is not {sweepDir, runId}");
  const { sweepDir, runId } = d;
  if (!isAbsolute(sweepDir)) throw new UnrecoverableError(`sweep folder ${sweepDir} is not an absolute path`);
  if (root !== undefined) {
    const rel = relative(resolve(root), resolve(sweepDir));
    if (rel.startsWith("..") || isAbsolute(rel))
      throw new UnrecoverableError(`sweep folder ${sweepDir} is outside --root ${root}`);
  }
  if (!existsSync(join(sweepDir, SWEEP_FILES.spec)))
    throw new Error(
      `${sweepDir} holds no ${SWEEP_FILES.spec} on ${hostname()} (is the shared storage mounted at the same path?)`,
    );
  const sweep = loadSweep(sweepDir);
  const run = sweep.runs.find((r) => r.id === runId);
  if (run === undefined)
    throw new UnrecoverableError(`run ${runId} is not in ${join(sweepDir, SWEEP_FILES.spec)}`);
  return {
    sweepName: sweep.name,
    runId: run.id,
    method: run.method,
    params: run.params,
    dir: join(sweepDir, SWEEP_FILES.runs, run.id),
    kind: sweep.kind,
    options: run.options,
    checkpointEvery: sweep.checkpointEvery,
    keepCheckpoints: sweep.keepCheckpoints,
  };
}

function refreshStatus(sweepDir: string, warn: (m: string) => void): void {
  try {
    writeFolderStatus(loadSweep(sweepDir), sweepDir);
  } catch (error) {
    warn(`could not refresh ${join(sweepDir, SWEEP_FILES.status)}: ${(error as Error).message}`);
  }
}

/**
 * `sgprop worker`: takes run jobs from the queue and trains them, `slots` at a time, each in a
 * worker thread. A run that fails is retried by BullMQ (attempts and backoff set when enqueued);
 * the last failure is recorded in the run folder as a local sweep does. A run folder locked by
 * another live process (issue 11's lock) puts the job back for later without using an attempt.
 */
export async function runQueueWorker(settings: WorkerSettings, out: Output): Promise<WorkerOutcome> {
  const me = `${hostname()}:${process.pid}`;
  const log = (m: string) => out.info(`${new Date().toISOString().slice(11, 19)} ${m}`);
  const warn = (m: string) => out.error(`warning: ${redact(m, settings.url.url)}`);
  const threads = Array.from({ length: settings.slots }, () => new RunThread(settings.slots));
  const free = [...threads.keys()];
  let done = 0;
  let failed = 0;
  let stopping = false;

  const processor = async (
    job: Job<RunJobData>,
    token?: string,
  ): Promise<{ seconds: number; skipped: boolean }> => {
    let task: RunTask;
    try {
      task = taskOfJob(job.data, settings.root);
    } catch (error) {
      log(`refused job ${job.id}: ${(error as Error).message}`);
      throw error;
    }
    const slot = free.shift();
    if (slot === undefined) throw new Error("no free run thread (concurrency above the slot count)");
    const thread = threads[slot] as RunThread;
    const attempt = job.attemptsMade + 1;
    const attempts = job.opts.attempts ?? 1;
    let lastProgress = 0;
    try {
      const outcome = await thread.run(task, {
        onStarted: (completed, total) =>
          log(`start ${task.runId} (${completed}/${total}, attempt ${attempt}/${attempts}) slot ${slot + 1}`),
        onProgress: (completed, total) => {
          const now = Date.now();
          if (now - lastProgress < 1000 && completed < total) return;
          lastProgress = now;
          job.updateProgress({ completed, total }).catch(() => {});
        },
      });
      if (outcome.type === "done") {
        done += 1;
        log(
          `done ${task.runId}: ${outcome.skipped ? "already complete" : `complete in ${outcome.seconds.toFixed(1)} s`}`,
        );
        refreshStatus(resolve(task.dir, "../.."), warn);
        return { seconds: outcome.seconds, skipped: outcome.skipped };
      }
      if (outcome.type === "interrupted") {
        // Stopped by SIGINT/SIGTERM after a checkpoint: back to the queue at once, no attempt used.
        log(`interrupted ${task.runId} at unit ${outcome.completed} (checkpoint written); back in the queue`);
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      if (outcome.error.startsWith("FolderLockedError")) {
        log(
          `${task.runId} is being written by another process; retrying in ${settings.lockedRetryMs / 1000} s`,
        );
        await job.moveToDelayed(Date.now() + settings.lockedRetryMs, token);
        throw new DelayedError();
      }
      const final = attempt >= attempts;
      log(
        `FAIL ${task.runId} (attempt ${attempt}/${attempts}): ${outcome.error}${final ? "" : "; will be retried"}`,
      );
      if (final) {
        failed += 1;
        mkdirSync(task.dir, { recursive: true });
        // A run that failed while training wrote its own, more detailed error.json.
        if (!existsSync(join(task.dir, RUN_FILES.error)))
          writeJsonAtomic(join(task.dir, RUN_FILES.error), {
            runId: task.runId,
            error: outcome.error,
            stack: outcome.stack,
            attempts,
            worker: me,
            at: new Date().toISOString(),
          });
        refreshStatus(resolve(task.dir, "../.."), warn);
      }
      throw new Error(outcome.error);
    } finally {
      free.push(slot);
    }
  };

  const connection = workerConnection(settings.url);
  const worker = new Worker<RunJobData>(QUEUE_NAME, processor, {
    connection,
    concurrency: settings.slots,
    lockDuration: settings.lockDurationMs,
    stalledInterval: settings.stalledIntervalMs,
    maxStalledCount: settings.maxStalled,
    autorun: false,
  });
  let lastError = "";
  worker.on("error", (e) => {
    const m = redact(e.message, settings.url.url);
    if (m !== lastError) warn(`queue: ${m}`);
    lastError = m;
  });
  worker.on("ready", () => {
    if (lastError !== "") log("queue connection restored");
    lastError = "";
  });
  worker.on("stalled", (id) =>
    log(`job ${id} stalled (its worker stopped renewing the lock); back in the queue`),
  );

  await worker.waitUntilReady();
  log(
    `worker ${me}: ${settings.slots} run thread(s) on ${settings.url.safe}, queue ${QUEUE_NAME}; Ctrl-C stops after a checkpoint`,
  );

  let drainTimer: NodeJS.Timeout | undefined;
  const counter = settings.drain
    ? new Queue(QUEUE_NAME, { connection: workerConnection(settings.url) })
    : undefined;
  counter?.on("error", () => {});
  let finishing: Promise<void> | undefined;
  const finish = (): Promise<void> => {
    finishing ??= (async () => {
      if (drainTimer !== undefined) clearInterval(drainTimer);
      await worker.close();
      await counter?.close();
      await Promise.all(threads.map((t) => t.close()));
    })();
    return finishing;
  };
  const removeHandlers = onStopRequest((reason) => {
    if (stopping) process.exit(130);
    stopping = true;
    log(`${reason}: stopping every run after its current unit, with a checkpoint (again to quit at once)`);
    for (const t of threads) t.stop();
    void finish();
  });
  const running = worker.run();
  if (counter !== undefined) {
    let busy = false;
    drainTimer = setInterval(() => {
      if (busy || free.length < settings.slots) return;
      busy = true;
      counter
        .getJobCounts("wait", "active", "delayed", "prioritized", "waiting-children")
        .then((c) => {
          if (Object.values(c).every((n) => n === 0) && free.length === settings.slots) {
            log("queue empty: exiting (--drain)");
            void finish();
          }
        })
        .catch(() => {})
        .finally(() => {
          busy = false;
        });
    }, 1000);
  }
  try {
    await running;
  } finally {
    removeHandlers();
  }
  await finish().catch(() => {});
  return { done, failed, stopped: stopping };
}
