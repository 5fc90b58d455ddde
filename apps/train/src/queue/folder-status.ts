import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeJsonAtomic } from "../run/files.js";
import { RUN_FILES } from "../run/layout.js";
import { assertUnlocked } from "../run/lock.js";
import { type RunStatus, SWEEP_FILES, unitsOf } from "../sweep/run-sweep.js";
import type { ExpandedSweep } from "../sweep/spec.js";

/** Data rows of a CSV (one per unit for metrics.csv); 0 when the file does not exist. */
function dataRows(path: string): number {
  if (!existsSync(path)) return 0;
  const text = readFileSync(path, "utf8");
  let n = 0;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) n += 1;
  return Math.max(0, n - 1);
}

function locked(dir: string): boolean {
  try {
    assertUnlocked(dir);
    return false;
  } catch {
    return true;
  }
}

/**
 * The state of each run as its folder shows it: the folders on shared storage are the truth of a
 * distributed sweep (no process holds all statuses in memory as a local sweep does).
 */
export function folderStatuses(sweep: ExpandedSweep, sweepDir: string): Record<string, RunStatus> {
  const out: Record<string, RunStatus> = {};
  for (const run of sweep.runs) {
    const dir = join(sweepDir, SWEEP_FILES.runs, run.id);
    const total = unitsOf(run, sweep.kind);
    if (existsSync(join(dir, RUN_FILES.summary))) {
      let seconds: number | undefined;
      try {
        const s = JSON.parse(readFileSync(join(dir, RUN_FILES.summary), "utf8")) as { seconds?: unknown };
        if (typeof s.seconds === "number") seconds = s.seconds;
      } catch {
        // a damaged summary still marks the run finished; report names the file
      }
      out[run.id] = {
        status: "complete",
        completed: total,
        total,
        ...(seconds === undefined ? {} : { seconds }),
      };
      continue;
    }
    const completed = Math.min(total, dataRows(join(dir, RUN_FILES.metrics)));
    if (!existsSync(dir)) out[run.id] = { status: "pending", completed: 0, total };
    else if (locked(dir)) out[run.id] = { status: "running", completed, total };
    else if (existsSync(join(dir, RUN_FILES.error))) {
      let error = "see error.json";
      try {
        const e = JSON.parse(readFileSync(join(dir, RUN_FILES.error), "utf8")) as { error?: unknown };
        if (typeof e.error === "string") error = e.error;
      } catch {
        // unreadable: the generic message stands
      }
      out[run.id] = { status: "failed", completed, total, error };
    } else out[run.id] = { status: completed > 0 ? "interrupted" : "pending", completed, total };
  }
  return out;
}

/** Rewrites status.json from the run folders (workers and sweep-status call it; last writer wins). */
export function writeFolderStatus(sweep: ExpandedSweep, sweepDir: string): Record<string, RunStatus> {
  const runs = folderStatuses(sweep, sweepDir);
  writeJsonAtomic(join(sweepDir, SWEEP_FILES.status), { name: sweep.name, runs });
  return runs;
}
