import { Rng } from "@sgprop/gym";
import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { resolveBanditOptions } from "../src/bandit/options.js";
import { Adam } from "../src/optim/adam.js";
import { disposeLossTensors, lossTensors } from "../src/recurrent/batch.js";
import { maxAbsDiff, TEST_BACKENDS, useBackend } from "./helpers.js";

// Flags of the paper's code (issue 18): Adam's L2 weight decay (bandit) and return normalisation
// on/off (POPGym). Their defaults are the paper's: no decay, normalised returns.

describe.each(TEST_BACKENDS)("torch-style Adam weight decay on %s", (backend) => {
  it("adds weight_decay * param to the gradient before the moments, on both update paths", async () => {
    await useBackend(backend);
    const rng = Rng.fromSeed(3);
    const p0 = Float32Array.from({ length: 5 }, () => rng.normal());
    const grads = [0, 1, 2].map(() => Float32Array.from({ length: 5 }, () => rng.normal()));
    const wd = 0.1;
    const finals: Float32Array[] = [];
    for (const kernels of [true, false]) {
      const p = tf.variable(tf.tensor1d(p0));
      const adam = new Adam({ p }, { learningRate: 0.01, weightDecay: wd, kernels });
      for (const g of grads) {
        const gt = tf.tensor1d(g);
        adam.step({ p: gt });
        gt.dispose();
      }
      finals.push(Float32Array.from(p.dataSync()));
      adam.dispose();
      p.dispose();
    }
    const ref = Float64Array.from(p0);
    const m = new Float64Array(5);
    const v = new Float64Array(5);
    grads.forEach((g, k) => {
      for (let i = 0; i < 5; i++) {
        const gi = (g[i] as number) + wd * (ref[i] as number);
        m[i] = 0.9 * (m[i] as number) + 0.1 * gi;
        v[i] = 0.999 * (v[i] as number) + 0.001 * gi * gi;
        const denom = Math.sqrt(v[i] as number) / Math.sqrt(1 - 0.999 ** (k + 1)) + 1e-8;
        ref[i] = (ref[i] as number) - (0.01 / (1 - 0.9 ** (k + 1))) * ((m[i] as number) / denom);
      }
    });
    expect(maxAbsDiff(finals[0] as Float32Array, ref)).toBeLessThan(1e-6);
    expect(maxAbsDiff(finals[1] as Float32Array, ref)).toBeLessThan(1e-6);
    // and the decay changed the result (the gradients alone give another point)
    const plain = tf.variable(tf.tensor1d(p0));
    const adam = new Adam({ p: plain }, { learningRate: 0.01 });
    for (const g of grads) adam.step({ p: tf.tensor1d(g) });
    expect(maxAbsDiff(plain.dataSync(), ref)).toBeGreaterThan(1e-5);
    adam.dispose();
    plain.dispose();
  });
});

describe("paper flags", () => {
  it("bandit weight decays default to the paper's 0 and refuse negative values", () => {
    const o = resolveBanditOptions({});
    expect([o.policyWeightDecay, o.sgWeightDecay]).toEqual([0, 0]);
    expect(resolveBanditOptions({ policyWeightDecay: 1e-4 }).policyWeightDecay).toBe(1e-4);
    expect(() => resolveBanditOptions({ sgWeightDecay: -1 })).toThrow(/sgWeightDecay/);
  });

  it("returns are normalised by default and left raw (masked) with normalizeReturns false", async () => {
    await useBackend("cpu");
    const batch = {
      obs: new Float32Array(4),
      actions: [0, 1, 0, 0],
      rewards: [1, 2, 3, 4],
      dones: [0, 0, 0, 0],
      episodeStarts: [1, 1, 0, 0],
      valid: [1, 1, 1, 0],
      numSteps: 2,
      numEnvs: 2,
    };
    const on = lossTensors(batch, 1, 2, { gamma: 0, entropyCoef: 0 });
    const off = lossTensors(batch, 1, 2, { gamma: 0, entropyCoef: 0, normalizeReturns: false });
    expect(Array.from(off.normalized)).toEqual([1, 2, 3, 0]);
    const valid = Array.from(on.normalized).slice(0, 3);
    expect(valid.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 6);
    expect(on.normalized[3]).toBe(0);
    disposeLossTensors(on);
    disposeLossTensors(off);
  });
});
