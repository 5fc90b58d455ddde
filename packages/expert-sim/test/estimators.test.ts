import { Rng } from "@sgprop/gym";
import { describe, expect, it } from "vitest";
import {
  backpropGradient,
  cleanFeedback,
  createProblem,
  ExpertSimConfigError,
  FEEDBACK_CASES,
  feedbackGram,
  fitSyntheticTables,
  populationGradient,
  populationLoss,
  predictSyntheticFeedback,
  sampleMeanFeedback,
  squaredGradientError,
  syntheticGradient,
  tableKeys,
} from "../src/index.js";

describe("fitSyntheticTables", () => {
  // Two experts, four partitions, k = 1: keys per partition and expert.
  const keys = Int32Array.from([0, 1, 1, 1, 0, 0, 1, 0]);
  const feedback = Float64Array.from([1, 10, 2, 20, 3, 30, 4, 40]);

  it("pools each key's partitions into their mean", () => {
    const t = fitSyntheticTables(feedback, keys, 2, 1);
    // expert 0: key 0 <- partitions 0, 2 (1, 3); key 1 <- partitions 1, 3 (2, 4)
    // expert 1: key 0 <- partitions 2, 3 (30, 40); key 1 <- partitions 0, 1 (10, 20)
    expect(Array.from(t)).toEqual([2, 3, 35, 15]);
    expect(Array.from(predictSyntheticFeedback(t, keys, 2, 1))).toEqual([2, 15, 3, 15, 2, 35, 3, 35]);
  });

  it("weights partitions by their counts and uses the fallback for keys nobody observed", () => {
    const counts = [3, 0, 1, 0]; // partitions 1 and 3 unobserved: expert 0 never sees key 1
    const global = fitSyntheticTables(feedback, keys, 2, 1, "global-mean", counts);
    expect(global[0]).toBeCloseTo((3 * 1 + 3) / 4, 14);
    expect(global[1]).toBeCloseTo((3 * 1 + 3) / 4, 14); // unseen key 1 -> expert 0's global mean
    expect(global[2]).toBe(30);
    expect(global[3]).toBe(10);
    const zero = fitSyntheticTables(feedback, keys, 2, 1, "zero", counts);
    expect(zero[1]).toBe(0);
    expect(() => fitSyntheticTables(feedback, keys, 2, 1, "zero", [1, 1])).toThrow(ExpertSimConfigError);
    expect(() => fitSyntheticTables(feedback, keys, 2, 1, "median" as never)).toThrow(
      /fallback must be one of/,
    );
  });
});

describe("unbiasedness", () => {
  // Mean over many trials of each estimate vs the exact gradient, coordinate by coordinate, in
  // units of the Monte Carlo standard error. A biased estimator (say without the 1/p rescaling of
  // the activation case) shifts whole coordinates by many standard errors and fails.
  const trials = 3000;
  it.each(FEEDBACK_CASES)("%s: both estimators average to the exact gradient", (feedbackCase) => {
    const p = createProblem({ d: 4, k: 2, m: 3 }, Rng.fromSeed(11));
    const clean = cleanFeedback(p);
    const keys = tableKeys(p);
    const truth = populationGradient(p, clean);
    const rng = Rng.fromSeed(12);
    const size = truth.length;
    const sums = { bp: new Float64Array(size), sg: new Float64Array(size) };
    const squares = { bp: new Float64Array(size), sg: new Float64Array(size) };
    for (let t = 0; t < trials; t++) {
      const mean = sampleMeanFeedback(p, clean, 2, feedbackCase, { sigma: 0.5, p: 0.5, tau: 0.5 }, rng);
      const bp = backpropGradient(p, mean);
      const sg = syntheticGradient(p, fitSyntheticTables(mean, keys, p.m, p.k), keys);
      for (let i = 0; i < size; i++) {
        sums.bp[i]! += bp[i]!;
        squares.bp[i]! += bp[i]! ** 2;
        sums.sg[i]! += sg[i]!;
        squares.sg[i]! += sg[i]! ** 2;
      }
    }
    for (const which of ["bp", "sg"] as const) {
      let sumZ2 = 0;
      for (let i = 0; i < size; i++) {
        const mean = sums[which][i]! / trials;
        const variance = squares[which][i]! / trials - mean * mean;
        const se = Math.sqrt(variance / trials);
        const z = (mean - truth[i]!) / se;
        expect(Math.abs(z), `${which} coordinate ${i}`).toBeLessThan(4.5);
        sumZ2 += z * z;
      }
      // Mean z^2 of an unbiased estimator is ~1 (chi-square over 64 coordinates: 0.6..1.5 here).
      expect(sumZ2 / size).toBeGreaterThan(0.5);
      expect(sumZ2 / size).toBeLessThan(1.7);
    }
  });

  it("the activation case really needs its 1/p rescaling (the test above would catch a missing one)", () => {
    const p = createProblem({ d: 4, k: 2, m: 3 }, Rng.fromSeed(11));
    const clean = cleanFeedback(p);
    const rng = Rng.fromSeed(13);
    let mean = 0;
    for (let t = 0; t < 2000; t++) {
      const f = sampleMeanFeedback(p, clean, 1, "activation", { sigma: 0, p: 0.25, tau: 0 }, rng);
      mean += f[0]! / clean[0]!;
    }
    expect(mean / 2000).toBeGreaterThan(0.85);
    expect(mean / 2000).toBeLessThan(1.15);
  });
});

describe("sampleMeanFeedback", () => {
  it("has the variances sigma^2/n, c^2 (1-p)/(n p) and alpha^2 tau^2/n", () => {
    const p = createProblem({ d: 3, k: 2, m: 2 }, Rng.fromSeed(4));
    const clean = cleanFeedback(p);
    const rng = Rng.fromSeed(5);
    const n = 3;
    const noise = { sigma: 0.7, p: 0.4, tau: 0.9 };
    const draws = 20000;
    const expected = {
      noisy: noise.sigma ** 2 / n,
      activation: (clean[0]! ** 2 * (1 - noise.p)) / (n * noise.p),
      partial: (p.partialLoadings[0]! ** 2 * noise.tau ** 2) / n,
    };
    for (const c of FEEDBACK_CASES) {
      let s = 0;
      let s2 = 0;
      for (let t = 0; t < draws; t++) {
        const x = sampleMeanFeedback(p, clean, n, c, noise, rng)[0]! - clean[0]!;
        s += x;
        s2 += x * x;
      }
      const variance = s2 / draws - (s / draws) ** 2;
      expect(variance / expected[c], c).toBeGreaterThan(0.95);
      expect(variance / expected[c], c).toBeLessThan(1.05);
    }
  });

  it("rejects n < 1 and unknown cases", () => {
    const p = createProblem({ d: 3, k: 2, m: 2 }, Rng.fromSeed(4));
    const noise = { sigma: 0.5, p: 0.5, tau: 0.5 };
    expect(() => sampleMeanFeedback(p, cleanFeedback(p), 0, "noisy", noise, Rng.fromSeed(1))).toThrow(
      /n must be/,
    );
    expect(() => sampleMeanFeedback(p, cleanFeedback(p), 1, "loud" as never, noise, Rng.fromSeed(1))).toThrow(
      /case must be one of noisy, activation, partial, got "loud"/,
    );
  });
});

describe("bad input to the building blocks fails loudly instead of turning into NaN", () => {
  const p = createProblem({ d: 3, k: 2, m: 2 }, Rng.fromSeed(1));
  const clean = cleanFeedback(p);
  const keys = tableKeys(p);

  it("sampleMeanFeedback checks the noise levels and array lengths", () => {
    const ok = { sigma: 0.5, p: 0.5, tau: 0.5 };
    expect(() => sampleMeanFeedback(p, clean, 1, "activation", { ...ok, p: 0 }, Rng.fromSeed(2))).toThrow(
      /p must be in \(0, 1\], got 0/,
    );
    expect(() => sampleMeanFeedback(p, clean, 1, "noisy", { ...ok, sigma: -1 }, Rng.fromSeed(2))).toThrow(
      /sigma must be a finite number >= 0, got -1/,
    );
    expect(() => sampleMeanFeedback(p, clean.subarray(0, 4), 1, "noisy", ok, Rng.fromSeed(2))).toThrow(
      /clean\.length must be 16 \(partitions x experts\), got 4/,
    );
    expect(() => sampleMeanFeedback(p, clean, 1, "noisy", ok, Rng.fromSeed(2), new Float64Array(3))).toThrow(
      /out\.length must be 16/,
    );
  });

  it("gradients, errors and tables check their array lengths", () => {
    expect(() => populationGradient(p, clean.subarray(0, 4))).toThrow(
      /feedback\.length must be 16 \(partitions x experts\), got 4/,
    );
    expect(() => populationLoss(p, new Float64Array(5))).toThrow(/theta\.length must be 24/);
    expect(() => squaredGradientError(feedbackGram(p), clean.subarray(0, 5), 2)).toThrow(
      /feedbackError\.length must be 4 \(a multiple of m = 2\), got 5/,
    );
    expect(() => squaredGradientError(feedbackGram(p), clean.subarray(0, 4), 2)).toThrow(
      /gram\.length must be 8/,
    );
    expect(() => fitSyntheticTables(clean, keys.subarray(0, 3), 2, 2)).toThrow(
      /keys\.length must be 16 \(the length of meanFeedback\), got 3/,
    );
    expect(() => predictSyntheticFeedback(new Float64Array(3), keys, 2, 2)).toThrow(
      /tables\.length must be 8 \(m x 2\^k = 2 x 4\), got 3/,
    );
  });
});
