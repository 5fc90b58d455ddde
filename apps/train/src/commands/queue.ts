import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { Command } from "commander";
import type { Output } from "../cli/output.js";
import { ExitCode, ResultsFolderError } from "../errors.js";
import { writeJsonAtomic } from "../run/files.js";
import { FolderLock } from "../run/lock.js";
import { makeFolder } from "../run/out-dir.js";
import { SWEEP_FILES } from "../sweep/run-sweep.js";
import type { ExpandedSweep } from "../sweep/spec.js";
import { positiveInt } from "./train.js";

/** The flags `sweep` takes for a distributed sweep. */
export interface EnqueueFlags {
  /** `true` for a bare `--queue`: the URL is in SGPROP_QUEUE. */
  queue?: string | true;
  attempts?: number;
  backoff?: number;
}

/** The queue settings recorded in the sweep folder (never the password). */
export const QUEUE_FILE = "queue.json";

/**
 * `sgprop sweep <file> --queue <url>`: the sweep folder is written as for a local sweep (locked
 * while written), then every unfinished run gets a job. Re-running adds nothing for runs already
 * queued and retries failed ones.
 */
export async function enqueueSweepAction(
  sweep: ExpandedSweep,
  dir: string,
  flags: EnqueueFlags,
  out: Output,
): Promise<number> {
  // Loaded here: BullMQ and its Redis client are needed only by the queue commands.
  const { parseQueueUrl, scrubArgv } = await import("../queue/url.js");
  const { DEFAULT_RETRY, enqueueSweep, openQueue, QUEUE_NAME } = await import("../queue/jobs.js");
  const { writeFolderStatus } = await import("../queue/folder-status.js");
  const url = parseQueueUrl(flags.queue === true ? undefined : flags.queue);
  scrubArgv(url);
  const abs = resolve(dir);
  const queue = await openQueue(url);
  try {
    makeFolder(abs);
    const lock = FolderLock.acquire(abs, {
      warn: (m) => out.error(`warning: ${m}`),
      command: "sweep --queue",
    });
    try {
      writeJsonAtomic(join(abs, SWEEP_FILES.spec), sweep);
      writeJsonAtomic(join(abs, QUEUE_FILE), { queue: url.safe, name: QUEUE_NAME });
      writeFolderStatus(sweep, abs);
    } finally {
      lock.release();
    }
    const retry = {
      attempts: flags.attempts ?? DEFAULT_RETRY.attempts,
      backoffMs: flags.backoff ?? DEFAULT_RETRY.backoffMs,
    };
    const r = await enqueueSweep(queue, sweep, abs, retry);
    out.info(
      `queue ${url.safe}: ${r.added} jobs added, ${r.queued} already queued, ${r.retried} failed jobs retried, ${r.finished} runs already finished`,
    );
    out.info(`start workers on every machine that mounts ${abs}: sgprop worker --queue <url> --workers <n>`);
    out.info(`progress: sgprop sweep-status ${abs} --queue <url>; report: sgprop report ${abs}`);
    return ExitCode.ok;
  } finally {
    await queue.close();
  }
}

export function sweepStatusCommand(out: Output, setExit: (code: number) => void): Command {
  return new Command("sweep-status")
    .description("per-run state and overall progress of a sweep folder, with its queue's jobs")
    .argument("<sweep-dir>", "the sweep folder")
    .option(
      "--queue <url>",
      "redis:// or rediss:// URL of the queue (default: $SGPROP_QUEUE; none: folders only)",
    )
    .action(async (given: string, flags: { queue?: string }) => {
      const dir = resolve(given);
      if (!existsSync(join(dir, SWEEP_FILES.spec)))
        throw new ResultsFolderError(`${given} is not a sweep folder: ${SWEEP_FILES.spec} is missing`);
      const { readSweepSpec } = await import("../sweep/spec-file.js");
      const sweep = readSweepSpec(join(dir, SWEEP_FILES.spec));
      const { parseQueueUrl, scrubArgv, QUEUE_ENV } = await import("../queue/url.js");
      const { openQueue } = await import("../queue/jobs.js");
      const { statusText, sweepQueueStatus } = await import("../queue/status.js");
      const wantQueue = flags.queue !== undefined || process.env[QUEUE_ENV] !== undefined;
      const url = wantQueue ? parseQueueUrl(flags.queue) : undefined;
      if (url !== undefined) scrubArgv(url);
      const queue = url === undefined ? undefined : await openQueue(url);
      try {
        const status = await sweepQueueStatus(queue, sweep, dir);
        for (const line of statusText(status, sweep.runs.length)) out.info(line);
        if (url === undefined) out.info("(run folders only: give --queue to see the jobs)");
        // Like a sweep's own exit code: 1 when a run failed for good.
        setExit((status.counts.failed ?? 0) > 0 ? ExitCode.failure : ExitCode.ok);
      } finally {
        await queue?.close();
      }
    });
}

export function workerCommand(out: Output, setExit: (code: number) => void): Command {
  return new Command("worker")
    .description("take runs of distributed sweeps from a queue and train them (start one on every machine)")
    .option("--queue <url>", "redis:// or rediss:// URL of the queue (default: $SGPROP_QUEUE)")
    .option("--workers <n>", "runs at once, each in a worker thread (default: one per core)", positiveInt())
    .option("--root <dir>", "accept only sweep folders inside <dir>")
    .option("--drain", "exit once the queue holds no waiting, delayed or active job")
    .option("--lock-duration <ms>", "BullMQ job lock, renewed every half of it", positiveInt(), 30_000)
    .option("--stalled-interval <ms>", "how often to look for jobs of dead workers", positiveInt(), 30_000)
    .option("--max-stalled <n>", "stalls after which a job fails", positiveInt(), 2)
    .option(
      "--locked-retry <ms>",
      "wait before retrying a run whose folder another process writes",
      positiveInt(),
      15_000,
    )
    .action(
      async (flags: {
        queue?: string;
        workers?: number;
        root?: string;
        drain?: boolean;
        lockDuration: number;
        stalledInterval: number;
        maxStalled: number;
        lockedRetry: number;
      }) => {
        const { parseQueueUrl, scrubArgv } = await import("../queue/url.js");
        const { runQueueWorker } = await import("../queue/worker.js");
        const url = parseQueueUrl(flags.queue);
        scrubArgv(url);
        const outcome = await runQueueWorker(
          {
            url,
            slots: flags.workers ?? availableParallelism(),
            lockDurationMs: flags.lockDuration,
            stalledIntervalMs: flags.stalledInterval,
            maxStalled: flags.maxStalled,
            drain: flags.drain === true,
            lockedRetryMs: flags.lockedRetry,
            ...(flags.root === undefined ? {} : { root: resolve(flags.root) }),
          },
          out,
        );
        out.info(`worker: ${outcome.done} runs done, ${outcome.failed} failed for good`);
        setExit(outcome.stopped ? ExitCode.interrupted : ExitCode.ok);
      },
    );
}
