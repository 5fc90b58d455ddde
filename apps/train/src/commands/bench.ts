import { Command } from "commander";
import type { Output } from "../cli/output.js";
import { addParamFlags, addPresetFlags, explicitParams } from "../cli/param-flags.js";
import { resolveSettings } from "../cli/settings.js";
import { ExitCode } from "../errors.js";
import { checkBanditData } from "../options/data-dir.js";
import type { TrainKind } from "../options/presets.js";
import { resolveOptions } from "../options/resolve.js";
import { formatNumber, textTable, unitName, unitsName } from "../run/metrics.js";
import { createTrainer } from "../run/prepare.js";
import { trainerFactory } from "../trainers/registry.js";
import { positiveInt } from "./train.js";

export interface BenchResult {
  readonly seconds: number[];
  readonly min: number;
  readonly median: number;
  readonly max: number;
}

export function summariseTimes(seconds: number[]): BenchResult {
  const sorted = [...seconds].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { seconds, min: sorted[0] ?? Number.NaN, median, max: sorted[sorted.length - 1] ?? Number.NaN };
}

/** `sgprop bench popgym|bandit`: seconds per training unit with the given settings (nothing written). */
function benchKind(kind: TrainKind, out: Output, setExit: (code: number) => void): Command {
  const cmd = new Command(kind).description(
    `time ${unitsName(kind)} of a ${kind} trainer (min/median/max; nothing is written)`,
  );
  addPresetFlags(cmd, kind);
  cmd.option("--units <n>", `timed ${unitsName(kind)} after one warm-up`, positiveInt(), 5);
  addParamFlags(cmd, kind);
  cmd.action(async (flags: { preset?: string; config?: string; units: number }) => {
    const settings = resolveSettings({
      kind,
      ...(flags.preset === undefined ? {} : { preset: flags.preset }),
      ...(flags.config === undefined ? {} : { configFile: flags.config }),
      cli: explicitParams(cmd, kind),
    });
    const units = flags.units;
    const total = units + 1;
    const options = {
      ...settings.options,
      ...(kind === "popgym" ? { batches: total } : { steps: total, numEvals: 0 }),
    };
    const factory = await trainerFactory(kind);
    if (kind === "bandit") checkBanditData(options);
    const trainer = await createTrainer(factory, options);
    const times: number[] = [];
    try {
      for (let i = 0; i < total; i++) {
        const t0 = performance.now();
        await trainer.next();
        const dt = (performance.now() - t0) / 1000;
        if (i > 0) times.push(dt);
        out.info(`${i === 0 ? "warm-up" : `${unitName(kind)} ${i}`}: ${dt.toFixed(3)} s`);
      }
    } finally {
      trainer.dispose();
    }
    const r = summariseTimes(times);
    const o = settings.options;
    out.info("");
    out.info(
      textTable(
        ["setting", "s/unit min", "median", "max", "units"],
        [
          [
            `${kind} ${o.model}/${o.algorithm} (${factory.backend?.() ?? "?"})`,
            formatNumber(r.min),
            formatNumber(r.median),
            formatNumber(r.max),
            String(units),
          ],
        ],
      ),
    );
    // Extrapolate to "a paper run" only when the settings are the paper's; otherwise say what it is.
    const paper = resolveOptions(kind, []);
    const differs = Object.keys({ ...paper, ...o }).filter(
      (k) =>
        !["batches", "steps", "numEvals", "backend"].includes(k) &&
        JSON.stringify(paper[k]) !== JSON.stringify(o[k]),
    );
    const length = kind === "popgym" ? 300 : 1500;
    const what =
      differs.length === 0
        ? `full paper run (${length} ${unitsName(kind)}${kind === "bandit" ? ", without evaluations" : ""})`
        : `${length} ${unitsName(kind)} at these settings (not the paper's: ${differs.join(", ")} differ)`;
    out.info(`${what} at the median: ~${((r.median * length) / 60).toFixed(1)} min`);
    setExit(ExitCode.ok);
  });
  return cmd;
}

export function benchCommand(out: Output, setExit: (code: number) => void): Command {
  return new Command("bench")
    .description("time training units of the real trainers with any training settings")
    .addCommand(benchKind("popgym", out, setExit))
    .addCommand(benchKind("bandit", out, setExit));
}
