/**
 * Times the paper's default sweep (d 4..12, k 2..4, m 5, n 1..4, 20 trials, sigma = p = tau = 0.5,
 * 500 bootstrap resamples; 324 cells) against the budget of 120 s on 2 cores.
 * Usage: pnpm --filter @sgprop/expert-sim bench [repeats]
 */
import { availableParallelism, loadavg } from "node:os";
import { runExpertSim, summarizeAgreement } from "../src/index.js";

const BUDGET_SECONDS = 120;
// The paper's numpy script (exp-expert-example/experiment.py, run_experiment only, no plots) on
// this machine, same sweep: 7.9 s on a quiet moment, up to 50.6 s while the machine was shared.
const NUMPY_REFERENCE_SECONDS = 7.9;

const repeats = Number(process.argv[2] ?? 5);
const seconds: number[] = [];
let last: ReturnType<typeof runExpertSim> | undefined;
for (let i = 0; i < repeats; i++) {
  const start = performance.now();
  last = runExpertSim({});
  seconds.push((performance.now() - start) / 1000);
}
seconds.sort((a, b) => a - b);
const median = seconds[Math.floor(seconds.length / 2)]!;
const fmt = (s: number) => `${s.toFixed(2)} s`;
console.log(
  `expert-sim default sweep (${last!.rows.length} cells), ${repeats} runs on ${availableParallelism()} cores, load ${loadavg()[0]!.toFixed(2)}`,
);
console.log(`  min ${fmt(seconds[0]!)}  median ${fmt(median)}  max ${fmt(seconds.at(-1)!)}`);
console.log(`  median / budget ${BUDGET_SECONDS} s = ${(median / BUDGET_SECONDS).toFixed(3)}`);
console.log(
  `  median / numpy reference ${NUMPY_REFERENCE_SECONDS} s = ${(median / NUMPY_REFERENCE_SECONDS).toFixed(3)}`,
);
for (const a of summarizeAgreement(last!.rows)) {
  console.log(
    `  ${a.case.padEnd(10)} ratio/2^(d-k) ${a.meanRatioOverTheory.toFixed(3)}  slope ${a.log2Slope.toFixed(3)}  covered ${a.covered}/${a.cells}`,
  );
}
