import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { Command, Option } from "commander";
import type { Output } from "../cli/output.js";
import { ExitCode, InvalidOptionError, ResultsFolderError, UsageError } from "../errors.js";
import { readJson, writeJsonAtomic } from "../run/files.js";
import { formatNumber, textTable } from "../run/metrics.js";
import type { ProgressMode } from "../run/progress.js";
import { type RunStatus, runSweep, SWEEP_FILES } from "../sweep/run-sweep.js";
import { type ExpandedSweep, expandSweep, readSweepFile } from "../sweep/spec.js";
import { positiveInt } from "./train.js";

interface SweepFlags {
  out?: string;
  resume?: string;
  workers?: number;
  progress: ProgressMode;
  dryRun?: boolean;
}

/** Loads, expands and places a sweep; refuses a folder that holds a different sweep. */
export function planSweep(
  file: string | undefined,
  flags: { out?: string; resume?: string },
): { sweep: ExpandedSweep; dir: string } {
  if (flags.resume !== undefined) {
    if (file !== undefined || flags.out !== undefined) {
      throw new InvalidOptionError("--resume", flags.resume, "a sweep folder, without a sweep file or --out");
    }
    const specPath = join(flags.resume, SWEEP_FILES.spec);
    if (!existsSync(specPath))
      throw new ResultsFolderError(`${flags.resume} is not a sweep folder: ${SWEEP_FILES.spec} is missing`);
    return { sweep: readJson<ExpandedSweep>(specPath), dir: resolve(flags.resume) };
  }
  if (file === undefined)
    throw new UsageError("sweep: name a sweep file (YAML or JSON), or --resume <sweep-dir>");
  const sweep = expandSweep(readSweepFile(file), file);
  const dir = resolve(flags.out ?? join("results", "sweeps", sweep.name));
  assertSameSweep(sweep, dir);
  return { sweep, dir };
}

/** A sweep folder continues only the sweep it was started with. */
export function assertSameSweep(sweep: ExpandedSweep, dir: string): void {
  const specPath = join(dir, SWEEP_FILES.spec);
  if (!existsSync(specPath)) return;
  const previous = readJson<ExpandedSweep>(specPath);
  if (JSON.stringify(previous) !== JSON.stringify(sweep)) {
    throw new ResultsFolderError(
      `${dir} holds a different sweep (${previous.name}); choose another --out or remove the folder`,
    );
  }
}

export function sweepCommand(out: Output, setExit: (code: number) => void): Command {
  return new Command("sweep")
    .description(
      "run a sweep file (methods x learning rates x seeds x settings) in parallel worker threads; re-running continues it",
    )
    .argument("[sweep-file]", "YAML or JSON sweep file")
    .option("--out <dir>", "sweep folder (default: results/sweeps/<name>)")
    .option("--resume <dir>", "continue the sweep in <dir> (finished runs are skipped, failed ones retried)")
    .option("--workers <n>", "parallel worker threads (default: one per core)", positiveInt())
    .addOption(
      new Option("--progress <mode>", "progress display")
        .choices(["auto", "bar", "lines", "none"])
        .default("auto"),
    )
    .option("--dry-run", "list the runs and exit")
    .action(async (file: string | undefined, flags: SweepFlags) => {
      const { sweep, dir } = planSweep(file, flags);
      if (flags.dryRun) {
        for (const r of sweep.runs) out.info(`${r.id}  ${JSON.stringify(r.params)}`);
        out.info(`${sweep.runs.length} runs -> ${dir}`);
        setExit(ExitCode.ok);
        return;
      }
      const previous = existsSync(join(dir, SWEEP_FILES.spec));
      mkdirSync(dir, { recursive: true });
      writeJsonAtomic(join(dir, SWEEP_FILES.spec), sweep);
      out.info(
        `${previous ? "continuing" : "starting"} sweep ${sweep.name}: ${sweep.runs.length} ${sweep.kind} runs in ${dir}`,
      );
      const outcome = await runSweep(sweep, dir, {
        progress: flags.progress,
        out,
        ...(flags.workers === undefined ? {} : { workers: flags.workers }),
      });
      out.info("");
      out.info(statusTable(outcome.statuses));
      out.info("");
      out.info(
        `${outcome.complete} complete (${outcome.skipped} already done before), ${outcome.failed} failed; status in ${join(dir, SWEEP_FILES.status)}`,
      );
      if (outcome.failed > 0)
        out.info(
          `failed runs keep their error in runs/<id>/error.json; re-run with --resume ${dir} to retry them`,
        );
      out.info(`report: sgprop report ${dir}`);
      setExit(outcome.failed > 0 ? ExitCode.failure : ExitCode.ok);
    });
}

function statusTable(statuses: Record<string, RunStatus>): string {
  return textTable(
    ["run", "status", "units", "seconds", "error"],
    Object.entries(statuses).map(([id, s]) => [
      id,
      s.status,
      `${s.completed ?? 0}/${s.total ?? "?"}`,
      s.seconds === undefined ? "-" : formatNumber(s.seconds),
      s.error === undefined ? "" : s.error.slice(0, 80),
    ]),
  );
}
