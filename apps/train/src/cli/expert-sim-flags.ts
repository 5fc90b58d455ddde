import { FEEDBACK_CASES, PAPER_DEFAULTS, TABLE_FALLBACKS } from "@sgprop/expert-sim";
import { Command, InvalidArgumentError, Option } from "commander";
import { type ExpertSimCliOptions, expertSimCommand } from "../commands/expert-sim.js";
import type { Output } from "./output.js";

/** "4..12", "4,6,8" or "2..4,8" -> integers. */
export function parseIntegerRanges(raw: string, min: number): number[] {
  const out: number[] = [];
  for (const part of raw.split(",").map((s) => s.trim())) {
    const range = /^(\d+)\.\.(\d+)$/.exec(part);
    if (range) {
      const lo = Number(range[1]);
      const hi = Number(range[2]);
      if (hi < lo)
        throw new InvalidArgumentError(
          `expected integers >= ${min} as a list or ranges (e.g. 4..12 or 2,3,4).`,
        );
      for (let v = lo; v <= hi; v++) out.push(v);
    } else if (/^\d+$/.test(part)) out.push(Number(part));
    else
      throw new InvalidArgumentError(
        `expected integers >= ${min} as a list or ranges (e.g. 4..12 or 2,3,4).`,
      );
  }
  if (out.length === 0 || out.some((v) => v < min)) {
    throw new InvalidArgumentError(`expected integers >= ${min} as a list or ranges (e.g. 4..12 or 2,3,4).`);
  }
  return out;
}

function numberIn(lo: number, hi: number, loOpen = false) {
  return (raw: string): number => {
    const v = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(v) || (loOpen ? v <= lo : v < lo) || v > hi) {
      throw new InvalidArgumentError(`expected a number ${loOpen ? ">" : ">="} ${lo} and <= ${hi}.`);
    }
    return v;
  };
}

function integerAtLeast(min: number) {
  return (raw: string): number => {
    const v = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || v < min)
      throw new InvalidArgumentError(`expected an integer >= ${min}.`);
    return v;
  };
}

const range = (v: readonly number[]) =>
  v.every((x, i) => i === 0 || x === (v[i - 1] as number) + 1) && v.length > 2
    ? `${v[0]}..${v[v.length - 1]}`
    : v.join(",");

/** `sgprop expert-sim`: the finite-partition expert network simulation (Section 5, Appendix H.1). */
export function expertSimCliCommand(out: Output, setExit: (code: number) => void): Command {
  const d = PAPER_DEFAULTS;
  return new Command("expert-sim")
    .description(
      "simulate the finite-partition expert network and compare the gradient MSE ratio with Theorem 5 (Fig. 2a/4)",
    )
    .option("--out <dir>", "folder for results.csv, results.json and the figure", "results/expert-sim")
    .option("--dims <list>", `input dimensions d (default: ${range(d.dims)})`, (v) =>
      parseIntegerRanges(v, 1),
    )
    .option("--ks <list>", `coordinates per expert k (default: ${range(d.ks)})`, (v) =>
      parseIntegerRanges(v, 1),
    )
    .option("--m <n|d>", `number of experts, or "d" for one per dimension (default: ${d.m})`, (v) =>
      v === "d" ? "d" : integerAtLeast(1)(v),
    )
    .option("--sample-sizes <list>", `observations per partition n (default: ${range(d.sampleSizes)})`, (v) =>
      parseIntegerRanges(v, 1),
    )
    .option("--trials <n>", `Monte Carlo trials per cell (default: ${d.trials})`, integerAtLeast(1))
    .option(
      "--sigma <x>",
      `feedback noise std of the noisy case (default: ${d.sigma})`,
      numberIn(0, Number.MAX_VALUE),
    )
    .option(
      "--p <x>",
      `activation probability of the activation case (default: ${d.p})`,
      numberIn(0, 1, true),
    )
    .option(
      "--tau <x>",
      `hidden-variable std of the partial case (default: ${d.tau})`,
      numberIn(0, Number.MAX_VALUE),
    )
    .option("--cases <list>", `feedback cases (default: ${d.cases.join(",")})`, (v) => {
      const cases = v.split(",").map((s) => s.trim());
      if (cases.length === 0 || cases.some((c) => !(FEEDBACK_CASES as readonly string[]).includes(c))) {
        throw new InvalidArgumentError(`expected a comma-separated subset of ${FEEDBACK_CASES.join(", ")}.`);
      }
      return cases;
    })
    .option(
      "--bootstrap-resamples <n>",
      `bootstrap resamples of the ratio (default: ${d.bootstrapResamples})`,
      // No resample gives no interval at all: every "theory inside the interval" would be vacuous.
      integerAtLeast(1),
    )
    .option(
      "--confidence-level <x>",
      `bootstrap interval coverage (default: ${d.confidenceLevel})`,
      numberIn(0, 1, true),
    )
    .addOption(
      new Option("--fallback <name>", `table value for unobserved keys (default: ${d.fallback})`).choices([
        ...TABLE_FALLBACKS,
      ]),
    )
    .option("--seed <n>", `base seed (default: ${d.seed})`, integerAtLeast(0))
    .option("--plot-n <n>", "which n the figure shows (default: the smallest)", integerAtLeast(1))
    .option("--quiet", "print only the summary")
    .action(async (flags: Record<string, unknown>) => {
      const opts = { ...flags, outDir: flags.out as string } as Record<string, unknown>;
      delete opts.out;
      setExit(await expertSimCommand(opts as unknown as ExpertSimCliOptions, out.info));
    });
}
