import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ResultsFolderError } from "../errors.js";
import { readMetricsCsv, rowsAsRecords } from "../run/files.js";
import { readBookkeeping } from "../run/prepare.js";
import { RUN_FILES, type RunSummary } from "../run/train-run.js";
import { SWEEP_FILES } from "../sweep/run-sweep.js";
import type { ExpandedSweep, SweepRun } from "../sweep/spec.js";

export interface LoadedRun {
  readonly run: SweepRun;
  readonly status: "complete" | "failed" | "incomplete";
  readonly error?: string;
  readonly train: Record<string, number>[];
  readonly evalRows: Record<string, number>[];
  /** The run's settings other than seed and learning rate that vary in the sweep, e.g. "numEnvs=40". */
  readonly setting: string;
}

export interface LoadedSweep {
  readonly dir: string;
  readonly sweep: ExpandedSweep;
  readonly runs: readonly LoadedRun[];
}

/** Settings keys that distinguish repetitions (seed) or are analysed as sensitivity (learning rate). */
const NOT_A_SETTING = new Set(["seed", "learningRate"]);

function settingLabel(run: SweepRun, varying: readonly string[]): string {
  const parts = varying
    .filter((k) => !NOT_A_SETTING.has(k))
    .map((k) => `${k}=${JSON.stringify(run.options[k]).replace(/"/g, "")}`);
  return parts.length === 0 ? "all" : parts.join(", ");
}

/** Settings that differ between runs of the same method (grid dimensions and method-specific ones). */
function varyingKeys(sweep: ExpandedSweep): string[] {
  const keys = new Set<string>();
  for (const r of sweep.runs) for (const k of Object.keys(r.params)) keys.add(k);
  return [...keys];
}

export function loadSweep(dir: string): LoadedSweep {
  const specPath = join(dir, SWEEP_FILES.spec);
  if (!existsSync(specPath))
    throw new ResultsFolderError(`${dir} is not a sweep folder: ${SWEEP_FILES.spec} is missing`);
  const sweep = readBookkeeping<ExpandedSweep>(
    specPath,
    (v) => typeof v === "object" && v !== null && Array.isArray((v as { runs?: unknown }).runs),
    "an expanded sweep ({name, kind, runs, ...})",
  );
  const varying = varyingKeys(sweep);
  const runs = sweep.runs.map((run): LoadedRun => {
    const runDir = join(dir, SWEEP_FILES.runs, run.id);
    const setting = settingLabel(run, varying);
    const errorPath = join(runDir, RUN_FILES.error);
    const summaryPath = join(runDir, RUN_FILES.summary);
    const train = rowsAsRecords(readMetricsCsv(join(runDir, RUN_FILES.metrics)));
    const evalRows = rowsAsRecords(readMetricsCsv(join(runDir, RUN_FILES.eval)));
    if (existsSync(errorPath)) {
      return {
        run,
        status: "failed",
        error: String(
          readBookkeeping<{ error?: unknown }>(
            errorPath,
            (v) => typeof v === "object" && v !== null,
            "a run error record",
          ).error,
        ),
        train,
        evalRows,
        setting,
      };
    }
    const complete =
      existsSync(summaryPath) &&
      readBookkeeping<RunSummary>(summaryPath, (v) => typeof v === "object" && v !== null, "a run summary")
        .status === "complete";
    return { run, status: complete ? "complete" : "incomplete", train, evalRows, setting };
  });
  return { dir, sweep, runs };
}

/** A sweep folder, or a folder whose sub-folders are sweeps (as written by `sgprop reproduce`). */
export function findSweeps(dir: string): string[] {
  if (existsSync(join(dir, SWEEP_FILES.spec))) return [dir];
  if (!existsSync(dir)) throw new ResultsFolderError(`${dir} does not exist`);
  if (!statSync(dir).isDirectory())
    throw new ResultsFolderError(
      `${dir} is a file; report takes sweep folders (holding ${SWEEP_FILES.spec})`,
    );
  const found = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, SWEEP_FILES.spec)))
    .map((e) => join(dir, e.name))
    .sort();
  if (found.length === 0)
    throw new ResultsFolderError(`${dir} holds no sweep (no ${SWEEP_FILES.spec} in it or its sub-folders)`);
  return found;
}
