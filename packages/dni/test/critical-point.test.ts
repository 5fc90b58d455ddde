import { describe, expect, it } from "vitest";
import {
  CRITICAL_POINT_DEFAULTS,
  criticalPointAnalysis,
  criticalPointGradient,
  criticalPointLoss,
  runCriticalPoint,
} from "../src/index.js";

describe("the critical-point example (Proposition 1)", () => {
  it("SG stops at the analytic critical point, which is not critical for the loss", () => {
    const a0 = CRITICAL_POINT_DEFAULTS.a0;
    const want = criticalPointAnalysis(a0);
    const end = runCriticalPoint({ method: "sg" }).at(-1);
    expect(end?.a).toBe(want.a); // sum x = 0: the SG never moves a
    expect(end?.b).toBeGreaterThan(want.bInterval[0]);
    expect(end?.b).toBeLessThan(want.bInterval[1]);
    expect(Math.abs(end?.c ?? 1)).toBeLessThan(1e-9);
    expect(end?.loss).toBeCloseTo(want.loss, 12);
    // The true gradient there: db = 0 but da = 6, so (a, b) is not critical for L.
    const g = criticalPointGradient(end?.a ?? 0, end?.b ?? 0);
    expect(g.db).toBe(0);
    expect(g.da).toBe(want.trueGradientA);
  });

  it("the analytic loss on the critical set is 6|a0| for several a0", () => {
    for (const a0 of [-2, -0.5, 0.25, 3]) {
      const want = criticalPointAnalysis(a0);
      for (const t of [-0.9, 0, 0.5])
        expect(criticalPointLoss(a0, t * Math.abs(a0))).toBeCloseTo(want.loss, 12);
      const end = runCriticalPoint({ a0, b0: 2 * Math.abs(a0) + 0.3, steps: 3000 }).at(-1);
      expect(end?.loss).toBeCloseTo(want.loss, 9);
    }
  });

  it("backprop from the same start goes to the global minimum instead", () => {
    const end = runCriticalPoint({ method: "backprop" }).at(-1);
    expect(end?.loss).toBeLessThan(0.2);
    expect(criticalPointAnalysis(1).globalMinimum.loss).toBe(0);
  });
});
