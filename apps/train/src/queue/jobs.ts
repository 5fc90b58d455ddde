import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { type ConnectionOptions, type JobsOptions, Queue } from "bullmq";
import { UsageError } from "../errors.js";
import { RUN_FILES } from "../run/layout.js";
import { SWEEP_FILES } from "../sweep/run-sweep.js";
import type { ExpandedSweep } from "../sweep/spec.js";
import { type QueueUrl, redact } from "./url.js";

/** One BullMQ queue carries the runs of every sweep; a job names a run, nothing more. */
export const QUEUE_NAME = "sgprop-runs";

/** What a job holds: the sweep folder (on storage every worker mounts at the same path) and a run id. */
export interface RunJobData {
  readonly sweepDir: string;
  readonly runId: string;
}

/** Retries of a failing run and the wait before each (exponential: delay, 2 x delay, ...). */
export interface RetryPolicy {
  readonly attempts: number;
  readonly backoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, backoffMs: 10_000 };

/**
 * The job id of a run: the same sweep folder and run always give the same id, so adding it again
 * is a no-op in BullMQ (ids are unique per queue). The folder enters as a hash because ids must
 * not hold ':'; the sweep name and run id keep it readable in Redis tools.
 */
export function jobId(sweepDir: string, sweepName: string, runId: string): string {
  const key = createHash("sha256").update(resolve(sweepDir)).digest("hex").slice(0, 12);
  return `${sweepName}.${key}.${runId}`;
}

/**
 * Connection options for short-lived commands (`sweep --queue`, `sweep-status`): fail after a few
 * seconds instead of waiting forever for an unreachable server.
 */
export function clientConnection(url: QueueUrl): ConnectionOptions {
  return {
    url: url.url,
    connectTimeout: 5_000,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: (times: number) => (times > 3 ? null : 500),
  } as ConnectionOptions;
}

/**
 * Workers wait through a Redis restart: BullMQ's own reconnect policy (1 s, growing to 20 s),
 * unlimited retries per command.
 */
export function workerConnection(url: QueueUrl): ConnectionOptions {
  return { url: url.url, maxRetriesPerRequest: null } as ConnectionOptions;
}

/** Opens the queue and checks the connection, with errors that never show the password. */
export async function openQueue(url: QueueUrl): Promise<Queue<RunJobData>> {
  const queue = new Queue<RunJobData>(QUEUE_NAME, { connection: clientConnection(url) });
  // Connection errors are reported by the awaited call below; an unhandled 'error' would crash.
  queue.on("error", () => {});
  try {
    await queue.waitUntilReady();
    await queue.getJobCounts("wait");
  } catch (error) {
    await queue.close().catch(() => {});
    throw new QueueUnreachableError(
      `cannot reach the queue at ${url.safe}: ${redact((error as Error).message, url.url)}`,
    );
  }
  return queue;
}

/** The queue's Redis cannot be reached or refuses us (wrong password): exit 2, one line. */
export class QueueUnreachableError extends UsageError {
  override readonly name = "QueueUnreachableError";
}

export function runFinished(sweepDir: string, runId: string): boolean {
  return existsSync(join(sweepDir, SWEEP_FILES.runs, runId, RUN_FILES.summary));
}

export interface EnqueueOutcome {
  readonly added: number;
  /** Runs whose job already waits, runs or is delayed (a second enqueue leaves them alone). */
  readonly queued: number;
  /** Failed (or completed, but without a finished folder) jobs sent back to the queue. */
  readonly retried: number;
  readonly finished: number;
}

/**
 * Adds a job for every run of the sweep whose folder has no summary.json. Idempotent: a run with
 * a job still in the queue is left alone, so enqueueing twice adds nothing; a run whose job failed
 * (or completed while its folder was since removed) is retried, as a local `sweep --resume` does.
 */
export async function enqueueSweep(
  queue: Queue<RunJobData>,
  sweep: ExpandedSweep,
  sweepDir: string,
  retry: RetryPolicy,
): Promise<EnqueueOutcome> {
  const dir = resolve(sweepDir);
  let added = 0;
  let queued = 0;
  let retried = 0;
  let finished = 0;
  const opts = (id: string): JobsOptions => ({
    jobId: id,
    attempts: retry.attempts,
    backoff: { type: "exponential", delay: retry.backoffMs },
    // Kept, so that a second enqueue recognises the id and sweep-status can show every run.
    removeOnComplete: false,
    removeOnFail: false,
  });
  for (const run of sweep.runs) {
    if (runFinished(dir, run.id)) {
      finished += 1;
      continue;
    }
    const id = jobId(dir, sweep.name, run.id);
    const existing = await queue.getJob(id);
    if (existing === undefined) {
      await queue.add("run", { sweepDir: dir, runId: run.id }, opts(id));
      added += 1;
      continue;
    }
    const state = await existing.getState();
    if (state === "failed" || state === "completed") {
      await existing.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true });
      retried += 1;
    } else queued += 1;
  }
  return { added, queued, retried, finished };
}
