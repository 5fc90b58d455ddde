import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Command, Option } from "commander";
import type { Output } from "../cli/output.js";
import { ExitCode, InvalidOptionError, ResultsFolderError, UsageError } from "../errors.js";
import { checkBanditData } from "../options/data-dir.js";
import { paramsOf } from "../options/resolve.js";
import { isDerived } from "../options/schema.js";
import { formatNumber, textTable } from "../run/metrics.js";
import { checkWritableFolder } from "../run/out-dir.js";
import type { ProgressMode } from "../run/progress.js";
import { runLockedSweep } from "../sweep/run-locked.js";
import { type RunStatus, SWEEP_FILES } from "../sweep/run-sweep.js";
import { type ExpandedSweep, expandSweep, readSweepFile } from "../sweep/spec.js";
import { readSweepSpec } from "../sweep/spec-file.js";
import { enqueueSweepAction } from "./queue.js";
import { positiveInt } from "./train.js";

interface SweepFlags {
  out?: string;
  resume?: string;
  workers?: number;
  progress: ProgressMode;
  dryRun?: boolean;
  queue?: string | true;
  attempts?: number;
  backoff?: number;
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
    const sweep = readSweepSpec(specPath);
    checkSweepData(sweep);
    return { sweep, dir: checkWritableFolder("--resume", flags.resume) };
  }
  if (file === undefined)
    throw new UsageError("sweep: name a sweep file (YAML or JSON), or --resume <sweep-dir>");
  const sweep = expandSweep(readSweepFile(file), file);
  const given = flags.out ?? join("results", "sweeps", sweep.name);
  const dir = checkWritableFolder("--out", given);
  if (existsSync(dir) && readdirSync(dir).length > 0 && !existsSync(join(dir, SWEEP_FILES.spec))) {
    throw new ResultsFolderError(
      `${given} is not empty and holds no sweep (${SWEEP_FILES.spec} is missing); choose an empty or new --out`,
    );
  }
  assertSameSweep(sweep, dir);
  checkSweepData(sweep);
  return { sweep, dir };
}

/** The --data-dir checks of `train bandit` (and of `train dni`, all ten classes), once per folder and class list. */
function checkSweepData(sweep: ExpandedSweep): void {
  if (sweep.kind !== "bandit" && sweep.kind !== "dni") return;
  const seen = new Set<string>();
  for (const r of sweep.runs) {
    const options =
      sweep.kind === "dni" ? { ...r.options, classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] } : r.options;
    const key = JSON.stringify([options.dataDir, options.classes]);
    if (options.dataDir === undefined || seen.has(key)) continue;
    seen.add(key);
    checkBanditData(options);
  }
}

/** A sweep folder continues only the sweep it was started with. */
/**
 * A sweep recorded before a setting existed (e.g. the weight-decay flags of issue 18) is the same
 * sweep when the setting is at its paper default now: its runs get that setting, in the new order.
 */
function withNewDefaults(previous: ExpandedSweep, current: ExpandedSweep): ExpandedSweep {
  const defaults = new Map(
    paramsOf(current.kind)
      .filter((p) => p.default !== undefined && !isDerived(p.default))
      .map((p) => [p.key, JSON.stringify(p.default)]),
  );
  const runs = previous.runs.map((run, i) => {
    const now = current.runs[i];
    if (now === undefined || now.id !== run.id) return run;
    const added = Object.keys(now.options).filter((k) => !(k in run.options));
    if (added.length === 0 || added.some((k) => JSON.stringify(now.options[k]) !== defaults.get(k)))
      return run;
    const options = Object.fromEntries(
      Object.keys(now.options).map((k) => [k, k in run.options ? run.options[k] : now.options[k]]),
    );
    return { ...run, options } as typeof run;
  });
  return { ...previous, runs };
}

export function assertSameSweep(sweep: ExpandedSweep, dir: string): void {
  const specPath = join(dir, SWEEP_FILES.spec);
  if (!existsSync(specPath)) return;
  const previous = withNewDefaults(readSweepSpec(specPath), sweep);
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
    .option(
      "--queue [url]",
      "enqueue the unfinished runs on a BullMQ queue (redis:// or rediss://; alone: $SGPROP_QUEUE) for `sgprop worker`",
    )
    .option(
      "--attempts <n>",
      "with --queue: tries of a failing run before it is recorded as failed (default 3)",
      positiveInt(),
    )
    .option(
      "--backoff <ms>",
      "with --queue: wait before the first retry, doubled each time (default 10000)",
      positiveInt(),
    )
    .action(async (file: string | undefined, flags: SweepFlags) => {
      const { sweep, dir } = planSweep(file, flags);
      if (flags.dryRun) {
        for (const r of sweep.runs) out.info(`${r.id}  ${JSON.stringify(r.params)}`);
        out.info(`${sweep.runs.length} runs -> ${dir}`);
        setExit(ExitCode.ok);
        return;
      }
      if (flags.queue !== undefined) {
        setExit(await enqueueSweepAction(sweep, dir, flags, out));
        return;
      }
      const previous = existsSync(join(dir, SWEEP_FILES.spec));
      out.info(
        `${previous ? "continuing" : "starting"} sweep ${sweep.name}: ${sweep.runs.length} ${sweep.kind} runs in ${dir}`,
      );
      const outcome = await runLockedSweep(sweep, dir, {
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
      if (outcome.stopped) {
        out.info(
          `interrupted: ${outcome.interrupted} runs stopped with a checkpoint; continue with --resume ${dir}`,
        );
        setExit(ExitCode.interrupted);
        return;
      }
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
