import { appendFileSync, existsSync, mkdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { Command, Option } from "commander";
import type { Output } from "../cli/output.js";
import { ExitCode, UsageError } from "../errors.js";
import { writeReport } from "../report/write-report.js";
import {
  applyQuick,
  EXPERT_SIM,
  PAPER_SWEEPS,
  type PaperSweep,
  paperSweepPath,
  QUICK_BUDGET,
  QUICK_OVERRIDES,
} from "../reproduce/experiments.js";
import type { ProgressMode } from "../run/progress.js";
import { runLockedSweep } from "../sweep/run-locked.js";
import { expandSweep, readSweepFile } from "../sweep/spec.js";
import { expertSimCommand } from "./expert-sim.js";
import { assertSameSweep } from "./sweep.js";
import { positiveInt } from "./train.js";

interface ReproduceFlags {
  quick?: boolean;
  full?: boolean;
  out?: string;
  workers?: number;
  only?: string[];
  progress: ProgressMode;
}

/** `sgprop reproduce --quick|--full`: every paper experiment, then one report. Re-running continues. */
export function reproduceCommand(out: Output, setExit: (code: number) => void): Command {
  const names = [...PAPER_SWEEPS, "expert-sim"];
  return new Command("reproduce")
    .description("run every experiment of the paper (scaled down with --quick) and write one report")
    .option("--quick", `every figure at a toy scale: ${QUICK_BUDGET}`)
    .option("--full", "the paper's grids (786 runs, days of CPU time on 2 cores; resumable)")
    .option("--out <dir>", "results folder (default: results/reproduce-quick or results/reproduce-full)")
    .option("--workers <n>", "parallel worker threads (default: one per core)", positiveInt())
    .addOption(new Option("--only <names...>", "run only these experiments").choices(names))
    .addOption(
      new Option("--progress <mode>", "progress display")
        .choices(["auto", "bar", "lines", "none"])
        .default("auto"),
    )
    .action(async (flags: ReproduceFlags) => {
      if (flags.quick === flags.full)
        throw new UsageError("reproduce: pass exactly one of --quick or --full");
      const mode = flags.quick ? "quick" : "full";
      const root = resolve(flags.out ?? join("results", `reproduce-${mode}`));
      const selected = flags.only ?? names;
      const started = Date.now();
      let failures = 0;
      const sweepDirs: string[] = [];
      // Every sweep is expanded and checked before the first run starts.
      const plans = PAPER_SWEEPS.filter((n) => selected.includes(n)).map((name) => {
        const file = readSweepFile(paperSweepPath(name));
        const sweepFile = mode === "quick" ? applyQuick(file, QUICK_OVERRIDES[name as PaperSweep]) : file;
        const sweep = expandSweep(sweepFile, paperSweepPath(name));
        const dir = join(root, sweep.name);
        assertSameSweep(sweep, dir);
        return { sweep, dir };
      });
      for (const { sweep, dir } of plans) {
        out.info(
          `== ${sweep.name}: ${sweep.runs.length} ${sweep.kind} runs -> ${relative(process.cwd(), dir)}`,
        );
        const outcome = await runLockedSweep(sweep, dir, {
          progress: flags.progress,
          out,
          ...(flags.workers === undefined ? {} : { workers: flags.workers }),
        });
        out.info(
          `   ${outcome.complete} complete, ${outcome.failed} failed (${((Date.now() - started) / 60000).toFixed(1)} min so far)`,
        );
        failures += outcome.failed;
        sweepDirs.push(dir);
        if (outcome.stopped) {
          out.info(`interrupted: runs stopped with a checkpoint; run the same command again to continue`);
          setExit(ExitCode.interrupted);
          return;
        }
      }
      mkdirSync(root, { recursive: true });
      let expertDir: string | undefined;
      if (selected.includes("expert-sim")) {
        expertDir = join(root, "expert-sim");
        out.info(`== expert-sim -> ${relative(process.cwd(), expertDir)}`);
        const code = await expertSimCommand(
          { ...EXPERT_SIM[mode], outDir: expertDir, quiet: true },
          out.info,
        );
        if (code !== 0) failures += 1;
      }
      if (sweepDirs.length > 0) {
        const reportDir = join(root, "report");
        const report = await writeReport(
          sweepDirs,
          reportDir,
          `Reproduction (${mode}) of "Is Backpropagation Optimal? When Synthetic Gradients Improve Sample Efficiency"`,
          mode === "quick"
            ? [
                `\`sgprop reproduce --quick\`: every experiment of the paper at a toy scale (${QUICK_BUDGET}; see \`src/reproduce/experiments.ts\`). The runs are far too short and too few to decide the paper's claims: the table shows the machinery (statistics, intervals, verdicts), not the paper's conclusions. \`--full\` runs the authors' grids.`,
              ]
            : [],
        );
        if (expertDir !== undefined && existsSync(join(expertDir, "ratio-vs-d-minus-k.png"))) {
          const rel = relative(reportDir, join(expertDir, "ratio-vs-d-minus-k.png"));
          appendFileSync(
            report.markdown,
            `\n## expert-sim (Fig. 2a/4)\n\n![gradient MSE ratio against d - k](${rel})\n\nNumbers: \`${relative(reportDir, join(expertDir, "results.csv"))}\`.\n`,
          );
        }
        for (const claim of report.claims) out.info(claim);
        out.info(`report: ${report.markdown}`);
      }
      out.info(
        `reproduce --${mode}: ${((Date.now() - started) / 60000).toFixed(1)} min, ${failures} failure(s)`,
      );
      setExit(failures > 0 ? ExitCode.failure : ExitCode.ok);
    });
}
