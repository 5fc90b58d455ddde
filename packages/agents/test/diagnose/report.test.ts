import { Rng } from "@sgprop/gym";
import { describe, expect, it } from "vitest";
import { estimatorError, mixtureCoefficients } from "../../src/diagnose/estimatorErrors.js";
import { PoolMomentAccumulator } from "../../src/diagnose/poolMoments.js";
import { diagnosisReport, duringTrainingColumns, reportRow } from "../../src/diagnose/report.js";
import type { DiagnosisMoments } from "../../src/diagnose/types.js";

/** Moments of a random pool: live = backprop + noise, synthetic biased and less noisy; `extra` kinds copy live. */
function pool(kinds: string[], samples: number, sizes: number[], seed: number) {
  const rng = Rng.derive(seed, "test/diagnose/report");
  const acc = new PoolMomentAccumulator(kinds, sizes);
  const means = sizes.map((s) => Float64Array.from({ length: s }, () => rng.normal()));
  for (let n = 0; n < samples; n++) {
    const b = sizes.map((s, i) =>
      Float64Array.from({ length: s }, (_, d) => (means[i]?.[d] as number) + rng.normal(0, 2)),
    );
    const l = b.map((v) => v.map((x) => x + rng.normal(0, 0.3)));
    const syn = b.map((v) => v.map((x) => 0.3 * x + 0.5 + rng.normal(0, 0.2)));
    acc.add(kinds.map((k) => (k === "backprop" ? b : k === "synthetic" ? syn : l)));
  }
  return acc.moments();
}

function moments(normalisedKinds: string[]): DiagnosisMoments {
  const sizes = [4, 3, 5, 2];
  const liveTheta = Float64Array.from([0.2, 0.5, 0.9, 1]);
  return {
    raw: pool(["backprop", "live", "synthetic", "applied"], 400, sizes, 1),
    normalised: pool(normalisedKinds, 400, sizes, 2),
    layers: [
      { name: "layer 0", from: 0, to: 2 },
      { name: "layer 1", from: 2, to: 4 },
    ],
    liveTheta,
    current: [0, 0, 0, 1],
    trainerBatch: 12,
    sampleDescription: "a test sample",
  };
}

describe("diagnosis report", () => {
  const d = moments(["backprop", "live", "synthetic"]);
  const r = diagnosisReport(d, { batchSizes: [4, 32] });

  it("reports every estimator, space and batch (the trainer's added); layers sum their neurons", () => {
    expect(r.batchSizes).toEqual([4, 12, 32]);
    expect(r.rows).toHaveLength(2 * 3 * 4 * 3);
    expect(r.neuronRows).toHaveLength(2 * 3 * 4 * 4);
    for (const row of r.rows.filter((x) => x.layer !== "net")) {
      const parts = r.neuronRows.filter(
        (x) =>
          x.layer === row.layer &&
          x.space === row.space &&
          x.estimator === row.estimator &&
          x.batch === row.batch,
      );
      expect(parts).toHaveLength(2);
      expect(row.mse).toBeCloseTo(
        parts.reduce((s, x) => s + x.mse, 0),
        12,
      );
      expect(row.mse).toBeCloseTo(row.variance + row.bias2, 12);
    }
  });

  it("the best mixture is no worse than theta 0 or 1; raw current is the applied kind", () => {
    for (const space of ["raw", "normalised"] as const) {
      for (const n of r.batchSizes) {
        const best = reportRow(r, space, "best", n).mse;
        expect(best).toBeLessThanOrEqual(reportRow(r, space, "synthetic", n).mse * (1 + 1e-12));
        const live = estimatorError(d[space], mixtureCoefficients(d[space].kinds.length, 1, 2, 1), n, {
          kind: "pool",
          coefficients: space === "raw" ? [1, 0, 0, 0] : [0, 1, 0],
        });
        expect(best).toBeLessThanOrEqual(live.mse.reduce((s, x) => s + x, 0) * (1 + 1e-12));
      }
    }
    const applied = estimatorError(d.raw, [0, 0, 0, 1], 12, { kind: "pool", coefficients: [1, 0, 0, 0] });
    expect(reportRow(r, "raw", "current", 12).mse).toBeCloseTo(
      applied.mse.reduce((s, x) => s + x, 0),
      12,
    );
    // The normalised space has no "applied": its current row is the mixture at the live theta.
    const mix = estimatorError(d.normalised, mixtureCoefficients(3, 1, 2, d.liveTheta), 12, {
      kind: "pool",
      coefficients: [0, 1, 0],
    });
    expect(reportRow(r, "normalised", "current", 12).mse).toBeCloseTo(
      mix.mse.reduce((s, x) => s + x, 0),
      12,
    );
  });

  it("checks the target's variance against the smallest MSE and names the pool that would do", () => {
    expect(r.targetChecks).toHaveLength(2 * 3);
    for (const c of r.targetChecks) {
      const smallest = Math.min(
        ...r.rows.filter((x) => x.space === c.space && x.layer === c.layer).map((x) => x.mse),
      );
      expect(c.smallestMse).toBe(smallest);
      expect(c.ratio).toBeCloseTo(c.targetVariance / smallest, 12);
      expect(c.ok).toBe(c.ratio < 0.1);
      expect(c.poolNeeded).toBe(Math.ceil((400 * c.ratio) / 0.1));
    }
    // Backprop at batch 32 against its own mean: variance tr Cov / 32 vs the target's tr Cov / 400.
    const raw = r.targetChecks.find((c) => c.space === "raw" && c.layer === "net");
    expect(raw?.ratio).toBeGreaterThan(0.05);
    expect(raw?.ok).toBe(true);
    expect(Object.keys(duringTrainingColumns(r))).toContain("diagnose/mse_current");
  });
});
