import { join, resolve } from "node:path";
import { Command } from "commander";
import type { Output } from "../cli/output.js";
import { ExitCode } from "../errors.js";
import { findSweeps } from "../report/load.js";
import { reportTitle, writeReport } from "../report/write-report.js";

export function reportCommand(out: Output, setExit: (code: number) => void): Command {
  return new Command("report")
    .description(
      "aggregate sweeps into a Markdown report: the paper's claims (bootstrap 95% intervals, verdicts) and figures when the paper's sweeps are there, mean +/- SEM curves, learning-rate AUC and theta dynamics (SVG, PNG)",
    )
    .argument("<sweep-dir...>", "sweep folders, or a folder of sweeps (as written by `sgprop reproduce`)")
    .option("--out <dir>", "report folder (default: <first sweep-dir>/report)")
    .option("--title <text>", "report title")
    .action(async (dirs: string[], flags: { out?: string; title?: string }) => {
      const sweeps = dirs.flatMap((d) => findSweeps(resolve(d)));
      const outDir = resolve(flags.out ?? join(dirs[0] as string, "report"));
      const result = await writeReport(sweeps, outDir, flags.title ?? reportTitle(sweeps));
      for (const claim of result.claims) out.info(claim);
      out.info(`report: ${result.markdown}`);
      out.info(
        `figures: ${result.figures.filter((f) => f.endsWith(".svg")).length} (SVG + PNG) in ${join(outDir, "figures")}`,
      );
      setExit(ExitCode.ok);
    });
}
