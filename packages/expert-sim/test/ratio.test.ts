import { describe, expect, it } from "vitest";
import { FEEDBACK_CASES, runExpertSim } from "../src/index.js";

/**
 * Theorem 5: MSE(backprop) / MSE(synthetic) = 2^(d-k). The identity holds in expectation over the
 * Jacobians too, so one problem draw can sit 10-20% off at small d; we pool independent problem
 * draws (`problems`), whose bootstrap resamples whole problems and so covers both sources of
 * spread. The check demands the theory within 1.5 interval half-widths of the measurement while
 * 2^(d-k-1) and 2^(d-k+1) must both lie outside that band: a ratio off by 2 cannot pass.
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
      const tolerance = 1.5 * Math.max(row.ratio - row.ratioCiLow, row.ratioCiHigh - row.ratio);
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
