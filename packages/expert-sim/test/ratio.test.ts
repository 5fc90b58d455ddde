import { Rng } from "@sgprop/gym";
import { describe, expect, it } from "vitest";
import { bootstrapRatio, createProblem, FEEDBACK_CASES, prepareProblem, runTrials } from "../src/index.js";

/**
 * Theorem 5: MSE(backprop) / MSE(synthetic) = 2^(d-k). The identity holds in expectation over the
 * Jacobians too, so one problem draw can sit ~10-20% off at small d; we pool independent problem
 * draws and bootstrap over problems (each keeping its trials), which covers both sources of
 * spread. The check then demands the theory inside 1.5 interval half-widths of the measurement
 * while 2^(d-k-1) and 2^(d-k+1) must both lie outside that band: a ratio off by 2 cannot pass.
 */
const shapes = [
  { d: 4, k: 2 },
  { d: 5, k: 3 },
  { d: 6, k: 3 },
  { d: 6, k: 4 },
] as const;
const problems = 48;
const trialsPerProblem = 10;
const noise = { sigma: 0.5, p: 0.5, tau: 0.5 };

describe.each(FEEDBACK_CASES)("Theorem 5 ratio, %s feedback", (feedbackCase) => {
  it.each(shapes)("d = $d, k = $k", ({ d, k }) => {
    const bp = new Float64Array(problems);
    const sg = new Float64Array(problems);
    const seedBase = 1000 * d + 100 * k + FEEDBACK_CASES.indexOf(feedbackCase);
    for (let q = 0; q < problems; q++) {
      const prepared = prepareProblem(createProblem({ d, k, m: 5 }, Rng.fromSeed(seedBase * 97 + q)));
      const errors = runTrials(
        prepared,
        feedbackCase,
        1,
        trialsPerProblem,
        noise,
        Rng.fromSeed(seedBase * 89 + q),
      );
      bp[q] = errors.backprop.reduce((s, x) => s + x, 0) / trialsPerProblem;
      sg[q] = errors.synthetic.reduce((s, x) => s + x, 0) / trialsPerProblem;
    }
    const { ratio, ciLow, ciHigh } = bootstrapRatio(bp, sg, 500, Rng.fromSeed(seedBase));
    const theory = 2 ** (d - k);
    const tolerance = 1.5 * Math.max(ratio - ciLow, ciHigh - ratio);
    expect(Math.abs(ratio - theory), `ratio ${ratio} CI [${ciLow}, ${ciHigh}]`).toBeLessThan(tolerance);
    expect(Math.abs(ratio - theory / 2)).toBeGreaterThan(tolerance);
    expect(Math.abs(ratio - theory * 2)).toBeGreaterThan(tolerance);
  });
});
