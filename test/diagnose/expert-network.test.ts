/**
 * Validation of the gradient diagnosis's estimator code (@sgprop/agents diagnose/) on the expert
 * network of @sgprop/expert-sim, where the exact population gradient is known and Theorem 5 says
 * backprop's gradient-estimation MSE is 2^(d-k) times the synthetic gradients'. One pool sample is
 * one independent draw of both estimators (fresh feedback, the same network); the draws go through
 * the same PoolMomentAccumulator and estimatorError the diagnosis uses, against the EXACT target.
 * agents does not depend on expert-sim, hence a cross-package test.
 */
import { estimatorError, PoolMomentAccumulator, type PoolMoments, targetVariance } from "@sgprop/agents";
import {
  backpropGradient,
  fitSyntheticTables,
  type PreparedProblem,
  populationGradient,
  sampleMeanFeedback,
  sweepProblem,
  syntheticGradient,
} from "@sgprop/expert-sim";
import { Rng } from "@sgprop/gym";
import { describe, expect, it } from "vitest";

const NOISE = { sigma: 0.5, p: 0.5, tau: 0.5 };
const M = 5;
const K = 2;

interface Pool {
  readonly moments: PoolMoments;
  readonly acc: PoolMomentAccumulator;
  readonly exact: Float64Array;
}

/** `draws` independent draws of both estimators (n = 1 observation per partition) in one pool. */
function pool(prepared: PreparedProblem, draws: number, rng: Rng): Pool {
  const { problem, clean, keys } = prepared;
  const exact = populationGradient(problem, clean);
  const acc = new PoolMomentAccumulator(["backprop", "synthetic"], [exact.length]);
  const mean = new Float64Array(clean.length);
  for (let t = 0; t < draws; t++) {
    sampleMeanFeedback(problem, clean, 1, "noisy", NOISE, rng, mean);
    const bp = backpropGradient(problem, mean);
    const sg = syntheticGradient(problem, fitSyntheticTables(mean, keys, problem.m, problem.k), keys);
    acc.add([[bp], [sg]]);
  }
  return { moments: acc.moments(), acc, exact };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/** The exact target in the form estimatorError takes: <sum of each kind, g> and ||g||^2. */
function exactTarget(p: Pool) {
  const kinds = p.moments.kinds.length;
  const innerWithSums = new Float64Array(kinds);
  for (let k = 0; k < kinds; k++) innerWithSums[k] = dot(p.acc.sumVector(k, 0), p.exact);
  return {
    kind: "exact" as const,
    innerWithSums,
    normSq: Float64Array.of(dot(p.exact, p.exact)),
  };
}

/** Least-squares slope of y on x. */
function slope(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += ((x[i] as number) - mx) * ((y[i] as number) - my);
    sxx += ((x[i] as number) - mx) ** 2;
  }
  return sxy / sxx;
}

describe("the diagnosis's estimator code on the expert network (Theorem 5)", () => {
  it("log2 of the measured MSE ratio (backprop / synthetic) against d - k has slope 1 +/- 0.1 (k = 2, d = 4..12)", () => {
    const x: number[] = [];
    const y: number[] = [];
    for (let d = 4; d <= 12; d++) {
      const prepared = sweepProblem({ d, k: K, m: M }, 0);
      // Fewer draws where each is large: the error sums over 2^d d coordinates.
      const draws = d <= 8 ? 200 : 60;
      const p = pool(prepared, draws, Rng.derive(d, "test/diagnose/expert-feedback"));
      const target = exactTarget(p);
      const bp = estimatorError(p.moments, [1, 0], 1, target);
      const sg = estimatorError(p.moments, [0, 1], 1, target);
      const ratio = (bp.mse[0] as number) / (sg.mse[0] as number);
      x.push(d - K);
      y.push(Math.log2(ratio));
      // Both estimators are unbiased here (clean feedback depends only on an expert's k bits):
      // almost all of the MSE is variance once the pool's own noise is removed from the bias.
      expect(bp.bias2[0] as number).toBeLessThan(0.2 * (bp.variance[0] as number));
    }
    const s = slope(x, y);
    expect(Math.abs(s - 1)).toBeLessThan(0.1);
    // And the level, not only the slope: every point within 0.5 (a factor sqrt 2) of 2^(d-k).
    for (let i = 0; i < x.length; i++)
      expect(Math.abs((y[i] as number) - (x[i] as number))).toBeLessThan(0.5);
  });

  it("the population gradient estimate converges: its standard error falls as 1/sqrt(samples) and is honest", () => {
    const prepared = sweepProblem({ d: 8, k: K, m: M }, 0);
    const sizes = [50, 200, 800];
    const se: number[] = [];
    for (const n of sizes) {
      const p = pool(prepared, n, Rng.derive(n, "test/diagnose/expert-convergence"));
      // The pool mean of the backprop draws is the diagnosis's population-gradient estimate;
      // targetVariance is its sampling variance tr Cov / N.
      const v = targetVariance(p.moments, { kind: "pool", coefficients: [1, 0] })[0] as number;
      se.push(Math.sqrt(v));
      // Its actual squared error against the exact gradient matches that variance (chi-square
      // over 2^8 * 8 coordinates: tight around 1).
      const sum = p.acc.sumVector(0, 0);
      let err = 0;
      for (let i = 0; i < sum.length; i++) err += ((sum[i] as number) / n - (p.exact[i] as number)) ** 2;
      expect(err / v).toBeGreaterThan(0.7);
      expect(err / v).toBeLessThan(1.4);
    }
    const s = slope(
      sizes.map((n) => Math.log(n)),
      se.map((e) => Math.log(e)),
    );
    expect(Math.abs(s + 0.5)).toBeLessThan(0.05);
  });
});
