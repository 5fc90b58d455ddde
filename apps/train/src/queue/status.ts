import { resolve } from "node:path";
import type { Queue } from "bullmq";
import { formatNumber, textTable } from "../run/metrics.js";
import type { RunStatus } from "../sweep/run-sweep.js";
import type { ExpandedSweep } from "../sweep/spec.js";
import { writeFolderStatus } from "./folder-status.js";
import { jobId, type RunJobData } from "./jobs.js";

export interface RunQueueState {
  readonly folder: RunStatus;
  /** BullMQ's state of the run's job (waiting, active, delayed, completed, failed), or "none". */
  readonly job: string;
  readonly attempts?: string;
  readonly reason?: string;
}

export interface SweepQueueStatus {
  readonly runs: Record<string, RunQueueState>;
  readonly counts: Record<string, number>;
  readonly unitsDone: number;
  readonly unitsTotal: number;
}

/** Per-run state from the run folders (the truth) and the queue (who is on it, what failed). */
export async function sweepQueueStatus(
  queue: Queue<RunJobData> | undefined,
  sweep: ExpandedSweep,
  sweepDir: string,
): Promise<SweepQueueStatus> {
  const dir = resolve(sweepDir);
  const folders = writeFolderStatus(sweep, dir);
  const runs: Record<string, RunQueueState> = {};
  const counts: Record<string, number> = {};
  let unitsDone = 0;
  let unitsTotal = 0;
  for (const run of sweep.runs) {
    const folder = folders[run.id] as RunStatus;
    let job = "none";
    let attempts: string | undefined;
    let reason: string | undefined;
    if (queue !== undefined) {
      const j = await queue.getJob(jobId(dir, sweep.name, run.id));
      if (j !== undefined) {
        job = await j.getState();
        attempts = `${j.attemptsMade}/${j.opts.attempts ?? 1}`;
        if (j.failedReason) reason = j.failedReason;
        const p = j.progress as { completed?: unknown } | number;
        // A live run reports its units through the queue before its folder shows a checkpoint.
        if (job === "active" && typeof p === "object" && typeof p.completed === "number")
          folder.completed = Math.max(folder.completed ?? 0, p.completed);
        if (job === "active" && folder.status !== "complete") folder.status = "running";
      }
    }
    // A run waiting for its (next) attempt: its folder may still hold the last attempt's error.
    const waiting = job === "waiting" || job === "delayed" || job === "prioritized";
    const state =
      waiting && folder.status !== "complete" && folder.status !== "running" ? "queued" : folder.status;
    counts[state] = (counts[state] ?? 0) + 1;
    unitsDone += folder.completed ?? 0;
    unitsTotal += folder.total ?? 0;
    runs[run.id] = {
      folder: { ...folder, status: state as RunStatus["status"] },
      job,
      ...(attempts === undefined ? {} : { attempts }),
      ...(reason === undefined ? {} : { reason }),
    };
  }
  return { runs, counts, unitsDone, unitsTotal };
}

export function statusText(s: SweepQueueStatus, total: number): string[] {
  const table = textTable(
    ["run", "state", "job", "attempts", "units", "seconds", "error"],
    Object.entries(s.runs).map(([id, r]) => [
      id,
      r.folder.status,
      r.job,
      r.attempts ?? "-",
      `${r.folder.completed ?? 0}/${r.folder.total ?? "?"}`,
      r.folder.seconds === undefined ? "-" : formatNumber(r.folder.seconds),
      (r.folder.error ?? r.reason ?? "").slice(0, 80),
    ]),
  );
  const parts = Object.entries(s.counts)
    .sort()
    .map(([k, n]) => `${n} ${k}`);
  const pct = ((100 * s.unitsDone) / Math.max(1, s.unitsTotal)).toFixed(1);
  return [table, "", `${total} runs: ${parts.join(", ")}; ${pct}% of units done`];
}
