import { Rng } from "@sgprop/gym";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  cleanFeedback,
  createProblem,
  feedbackGram,
  populationGradient,
  populationLoss,
  squaredGradientError,
} from "../src/index.js";

const smallShape = fc
  .record({ d: fc.integer({ min: 1, max: 5 }), m: fc.integer({ min: 1, max: 4 }), seed: fc.nat(1e6) })
  .chain(({ d, m, seed }) =>
    fc.record({
      d: fc.constant(d),
      m: fc.constant(m),
      seed: fc.constant(seed),
      k: fc.integer({ min: 1, max: d }),
    }),
  );

describe("exact population gradient", () => {
  it("equals brute-force central differences of the population loss (enumerating all 2^d partitions)", () => {
    fc.assert(
      fc.property(smallShape, ({ d, k, m, seed }) => {
        const p = createProblem({ d, k, m }, Rng.fromSeed(seed));
        const exact = populationGradient(p, cleanFeedback(p));
        const theta = new Float64Array(p.partitions * d);
        const h = 1e-3;
        // The loss is quadratic in theta, so central differences are exact up to rounding.
        for (let i = 0; i < theta.length; i++) {
          theta[i] = h;
          const up = populationLoss(p, theta);
          theta[i] = -h;
          const down = populationLoss(p, theta);
          theta[i] = 0;
          const numeric = (up - down) / (2 * h);
          expect(Math.abs(numeric - exact[i]!)).toBeLessThan(1e-9 + 1e-7 * Math.abs(numeric));
        }
      }),
      { numRuns: 25 },
    );
  });

  it("is not trivially zero, so the comparison above has teeth", () => {
    const p = createProblem({ d: 4, k: 2, m: 3 }, Rng.fromSeed(1));
    const g = populationGradient(p, cleanFeedback(p));
    expect(g.reduce((s, x) => s + x * x, 0)).toBeGreaterThan(1e-4);
  });

  it("loss at theta = 0 is half the mean squared clean feedback", () => {
    const p = createProblem({ d: 5, k: 3, m: 4 }, Rng.fromSeed(2));
    const clean = cleanFeedback(p);
    const expected = clean.reduce((s, x) => s + 0.5 * x * x, 0) / p.partitions;
    expect(populationLoss(p, new Float64Array(p.partitions * 5))).toBeCloseTo(expected, 12);
  });
});

describe("squaredGradientError", () => {
  it("equals ||g(estimate) - g(clean)||^2 computed through full gradients", () => {
    fc.assert(
      fc.property(smallShape, ({ d, k, m, seed }) => {
        const p = createProblem({ d, k, m }, Rng.fromSeed(seed));
        const clean = cleanFeedback(p);
        const rng = Rng.fromSeed(seed + 1);
        const estimate = clean.map((c) => c + rng.normal());
        const g0 = populationGradient(p, clean);
        const g1 = populationGradient(p, estimate);
        let direct = 0;
        for (let i = 0; i < g0.length; i++) direct += (g1[i]! - g0[i]!) ** 2;
        const viaGram = squaredGradientError(
          feedbackGram(p),
          estimate.map((x, i) => x - clean[i]!),
          m,
        );
        expect(Math.abs(viaGram - direct)).toBeLessThan(1e-12 + 1e-9 * direct);
      }),
      { numRuns: 40 },
    );
  });
});
