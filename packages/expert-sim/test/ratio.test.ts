import { Rng } from "@sgprop/gym";
import { describe, expect, it } from "vitest";
import {
  FEEDBACK_CASES,
  type FeedbackCase,
  meanAndStandardError,
  type PreparedProblem,
  runExpertSim,
  runTrials,
  sweepProblem,
} from "../src/index.js";

/**
 * Theorem 5: MSE(backprop) / MSE(synthetic) = 2^(d-k). The expected errors have exactly that ratio
 * for every network draw (checked at the end of this file); a measured ratio strays only through
 * Monte Carlo noise, which 20 trials leave at 10-20% for small d. We pool independent problem
 * draws (`problems`) to get many trials cheaply. The check demands the theory within 2 interval
 * half-widths of the measurement (about 4 standard errors: with 24 cells, 1.5 half-widths would
 * fail one cell in about 12 seeds by chance) while 2^(d-k-1) and 2^(d-k+1) must both lie outside
 * that band: a ratio off by 2 cannot pass.
 */
const shapes = [
  { d: 4, k: 2 },
  { d: 5, k: 3 },
  { d: 6, k: 3 },
  { d: 6, k: 4 },
] as const;

describe.each(shapes)("Theorem 5 ratio at d = $d, k = $k", ({ d, k }) => {
  const { rows } = runExpertSim({
    dims: [d],
    ks: [k],
    sampleSizes: [1, 3],
    problems: 48,
    trials: 10,
    bootstrapResamples: 400,
    seed: 2026,
  });
  it.each(FEEDBACK_CASES.flatMap((c) => [1, 3].map((n) => [c, n] as const)))(
    "%s feedback, n = %i",
    (c, n) => {
      const row = rows.find((r) => r.case === c && r.n === n)!;
      expect(row.problems).toBe(48);
      const theory = 2 ** (d - k);
      const tolerance = 2 * Math.max(row.ratio - row.ratioCiLow, row.ratioCiHigh - row.ratio);
      const context = `ratio ${row.ratio} CI [${row.ratioCiLow}, ${row.ratioCiHigh}]`;
      expect(Math.abs(row.ratio - theory), context).toBeLessThan(tolerance);
      expect(Math.abs(row.ratio - theory / 2), context).toBeGreaterThan(tolerance);
      expect(Math.abs(row.ratio - theory * 2), context).toBeGreaterThan(tolerance);
    },
  );
});

describe("a single problem draw (the paper's setting)", () => {
  it("follows 2^(d-k) within 25% at d = 8, k = 2 for every case with 200 trials", () => {
    const { rows } = runExpertSim({
      dims: [8],
      ks: [2],
      sampleSizes: [1],
      trials: 200,
      bootstrapResamples: 0,
    });
    for (const row of rows) {
      expect(row.ratio / row.theory, row.case).toBeGreaterThan(0.75);
      expect(row.ratio / row.theory, row.case).toBeLessThan(1.25);
    }
  });
});

/**
 * The exact expectations for one fixed network, from the variances of the feedback noise alone:
 * noise is independent across (partition, expert) and mean zero, so
 *   E||g_bp - g||^2 = sum_r sum_j G_r[j, j] v_rj,
 *   E||g_sg - g||^2 = sum_r sum_j G_r[j, j] (1/N^2) sum_{r' sharing r's key for expert j} v_r'j,
 * with N = 2^(d-k) partitions per key and v_rj the variance of the n-sample mean feedback.
 */
function expectedErrors(prepared: PreparedProblem, feedbackCase: FeedbackCase, n: number) {
  const { problem, clean, keys, gram } = prepared;
  const { m, k, partitions, partialLoadings } = problem;
  const variance = (r: number, j: number) => {
    if (feedbackCase === "noisy") return NOISE.sigma ** 2 / n;
    if (feedbackCase === "activation") return (clean[r * m + j]! ** 2 * (1 - NOISE.p)) / (n * NOISE.p);
    return (partialLoadings[j]! ** 2 * NOISE.tau ** 2) / n;
  };
  const keyVariance = new Float64Array(m * 2 ** k);
  const keyCount = new Float64Array(m * 2 ** k);
  for (let r = 0; r < partitions; r++) {
    for (let j = 0; j < m; j++) {
      keyVariance[j * 2 ** k + keys[r * m + j]!]! += variance(r, j);
      keyCount[j * 2 ** k + keys[r * m + j]!]! += 1;
    }
  }
  let backprop = 0;
  let synthetic = 0;
  for (let r = 0; r < partitions; r++) {
    for (let j = 0; j < m; j++) {
      const g = gram[(r * m + j) * m + j]!;
      const slot = j * 2 ** k + keys[r * m + j]!;
      backprop += g * variance(r, j);
      synthetic += (g * keyVariance[slot]!) / keyCount[slot]! ** 2;
    }
  }
  return { backprop, synthetic };
}

const NOISE = { sigma: 0.5, p: 0.5, tau: 0.5 };

describe("Theorem 5 holds exactly for every single network draw, not only on average", () => {
  it.each(FEEDBACK_CASES)("%s: the exact expected errors have ratio 2^(d-k) for any Jacobians", (c) => {
    for (const [d, k, seed] of [
      [4, 2, 0],
      [5, 3, 1],
      [7, 2, 2],
      [6, 1, 3],
    ] as const) {
      const e = expectedErrors(sweepProblem({ d, k, m: 5 }, seed), c, 2);
      expect(e.backprop / e.synthetic).toBeCloseTo(2 ** (d - k), 9);
    }
  });

  it.each(FEEDBACK_CASES)("%s: Monte Carlo means of both errors match the exact expectations", (c) => {
    const prepared = sweepProblem({ d: 5, k: 2, m: 5 }, 7);
    const exact = expectedErrors(prepared, c, 3);
    const trials = 4000;
    const errors = runTrials(prepared, c, 3, trials, NOISE, Rng.fromSeed(8));
    for (const which of ["backprop", "synthetic"] as const) {
      const { mean, se } = meanAndStandardError(errors[which]);
      // 5 standard errors; a factor-2 slip in either estimator is hundreds of standard errors.
      expect(Math.abs(mean - exact[which]), `${which}: ${mean} vs ${exact[which]} (se ${se})`).toBeLessThan(
        5 * se,
      );
    }
  });
});
