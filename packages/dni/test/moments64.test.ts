import { describe, expect, it } from "vitest";
import {
  artificialData,
  Linear64Learner,
  type Linear64Options,
  matrix64,
  sgBoundaries,
} from "../src/index.js";
import { Moment64Learner } from "../src/moments64.js";

// The moment form (every sum over examples through G = Z^T Z / n) against the per-example float64
// learner: the same rule, so after 40 Adam steps every parameter and the loss agree to rounding.
// k = 5 inputs, 3 hidden layers of 5 (the deep case) or none (shallow), 40 points, lr 1e-2.
const K = 5;
const N = 40;
const STEPS = 40;

type Case = [string, Omit<Linear64Options, "learningRate" | "seed">];
const deep = [K, K, K, K, 1];
const net = { layerSizes: deep, activation: "linear" as const, batchNorm: false };
const cases: Case[] = [];
for (const loss of ["mse", "logistic"] as const) {
  cases.push([
    `${loss} backprop deep`,
    { layerSizes: deep, loss, method: "backprop", sgAt: [], conditioning: "both" },
  ]);
  cases.push([
    `${loss} SG on the output, shallow`,
    { layerSizes: [K, 1], loss, method: "sg", sgAt: [1], conditioning: "both" },
  ]);
  for (const conditioning of ["both", "activation", "label", "none"] as const)
    cases.push([
      `${loss} SG every boundary, ${conditioning}`,
      { layerSizes: deep, loss, method: "sg", sgAt: sgBoundaries(net, "every"), conditioning },
    ]);
  cases.push([
    `${loss} one SG in the middle`,
    { layerSizes: deep, loss, method: "sg", sgAt: sgBoundaries(net, "middle"), conditioning: "both" },
  ]);
}

function maxRelativeGap(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let gap = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    gap = Math.max(gap, Math.abs(x - y) / Math.max(1e-3, Math.abs(x)));
  }
  return gap;
}

describe("Moment64Learner", () => {
  it.each(cases)("%s: follows the per-example learner to 1e-9", (_, spec) => {
    const data = artificialData("noisy", spec.loss, K, N, 0, 1);
    const x = matrix64(N, K, data.x);
    const y = matrix64(N, 1, data.y);
    const options = { ...spec, learningRate: 1e-2, seed: 3 };
    const direct = new Linear64Learner(options);
    const moments = new Moment64Learner(options);
    let first = Number.NaN;
    for (let s = 0; s < STEPS; s++) {
      const a = direct.step(x, y);
      const b = moments.step(x, y);
      if (s === 0) first = a;
      expect(Math.abs(a - b) / Math.abs(a)).toBeLessThan(1e-10);
    }
    const da = direct.state().arrays;
    const db = moments.state().arrays;
    expect(Object.keys(db)).toEqual(Object.keys(da));
    for (const name of Object.keys(da)) {
      expect(maxRelativeGap(da[name] as Float64Array, db[name] as Float64Array), name).toBeLessThan(1e-9);
    }
    // the parameters moved (not two untouched initialisations compared), and the final losses agree
    const start = new Linear64Learner(options).state().arrays;
    expect(maxRelativeGap(start["net/0"] as Float64Array, da["net/0"] as Float64Array)).toBeGreaterThan(1e-2);
    expect(direct.loss(x, y)).not.toBe(first);
    expect(Math.abs(moments.loss(x, y) - direct.loss(x, y)) / direct.loss(x, y)).toBeLessThan(1e-10);
  });

  it("agrees at Table 2's k = 100 size (1000 points, layers of 100) after two steps", () => {
    const k = 100;
    const n = 1000;
    const data = artificialData("linear", "logistic", k, n, 0, 0);
    const x = matrix64(n, k, data.x);
    const y = matrix64(n, 1, data.y);
    const options: Linear64Options = {
      layerSizes: [k, k, k, 1],
      loss: "logistic",
      method: "sg",
      sgAt: [1, 2, 3],
      conditioning: "both",
      learningRate: 1e-3,
      seed: 0,
    };
    const direct = new Linear64Learner(options);
    const moments = new Moment64Learner(options);
    for (let s = 0; s < 2; s++) {
      direct.step(x, y);
      moments.step(x, y);
    }
    expect(Math.abs(moments.loss(x, y) - direct.loss(x, y)) / direct.loss(x, y)).toBeLessThan(1e-10);
    const da = direct.state().arrays;
    const db = moments.state().arrays;
    for (const name of Object.keys(da))
      expect(maxRelativeGap(da[name] as Float64Array, db[name] as Float64Array), name).toBeLessThan(1e-9);
  });
});
