import { join } from "node:path";
import type { Output } from "../cli/output.js";
import { onStopRequest } from "../cli/stop-signals.js";
import { ExitCode } from "../errors.js";
import { writeJsonAtomic } from "../run/files.js";
import { FolderLock } from "../run/lock.js";
import { makeFolder } from "../run/out-dir.js";
import type { ProgressMode } from "../run/progress.js";
import { runSweep, SWEEP_FILES, type SweepOutcome } from "./run-sweep.js";
import type { ExpandedSweep } from "./spec.js";

/**
 * Runs a sweep the way every command that writes a sweep folder must: the folder locked against a
 * second writer, its spec written, and Ctrl-C/SIGTERM turned into "stop every run after its
 * current unit, with a checkpoint" (a second signal quits at once). `stopped` says whether a
 * signal came.
 */
export async function runLockedSweep(
  sweep: ExpandedSweep,
  dir: string,
  opts: { workers?: number; progress: ProgressMode; out: Output },
): Promise<SweepOutcome & { stopped: boolean }> {
  const { out } = opts;
  makeFolder(dir);
  const lock = FolderLock.acquire(dir, { warn: (m) => out.error(`warning: ${m}`) });
  const stop = new AbortController();
  const removeHandlers = onStopRequest((reason) => {
    if (stop.signal.aborted) process.exit(ExitCode.interrupted);
    stop.abort();
    out.error(
      `\n${reason}: stopping every run after its current unit, with a checkpoint (again to quit at once)`,
    );
  });
  try {
    writeJsonAtomic(join(dir, SWEEP_FILES.spec), sweep);
    const outcome = await runSweep(sweep, dir, { ...opts, stop: stop.signal });
    return { ...outcome, stopped: stop.signal.aborted || outcome.interrupted > 0 };
  } finally {
    removeHandlers();
    lock.release();
  }
}
