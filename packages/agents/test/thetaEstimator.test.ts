import { Rng } from "@sgprop/gym";
import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { slotLayerForward } from "../src/neuron/slotNeuron.js";
import {
  estimateThetaBatch,
  estimateThetaBatchHost,
  estimateThetaBatchTensor,
} from "../src/sgprop/thetaEstimator.js";
import { TEST_BACKENDS, useBackend } from "./helpers.js";

function randn(rng: Rng, shape: number[], scale = 1): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => rng.normal() * scale),
    shape,
  );
}

/** eq. 3 evaluated naively on explicit per-sample gradient vectors (float64 in JS). */
function naiveTheta(w: number[][], what: number[][], prev: number, eps: number): number {
  const n = w.length;
  if (n <= 1) return prev;
  const dim = (w[0] as number[]).length;
  const d = w.map((wn, i) => wn.map((x, j) => ((what[i] as number[])[j] as number) - x));
  const mean = (rows: number[][]) =>
    Array.from({ length: dim }, (_, j) => rows.reduce((s, r) => s + (r[j] as number), 0) / n);
  const dot = (a: number[], b: number[]) => a.reduce((s, x, j) => s + x * (b[j] as number), 0);
  const wbar = mean(w);
  const dbar = mean(d);
  const meanDD = d.reduce((s, r) => s + dot(r, r), 0) / n;
  const meanWD = w.reduce((s, r, i) => s + dot(r, d[i] as number[]), 0) / n;
  const v = Math.max(0, (meanDD - dot(dbar, dbar)) / (n - 1));
  const c = (meanWD - dot(wbar, dbar)) / (n - 1);
  const b2 = Math.max(0, dot(dbar, dbar) - v);
  if (!(v + b2 > eps)) return prev;
  return Math.min(1, Math.max(0, 1 + c / (v + b2)));
}

describe.each(TEST_BACKENDS)("closed-form theta estimator on %s", (backend) => {
  it("equals eq. 3 on explicit per-sample autodiff gradients", async () => {
    await useBackend(backend);
    const before = tf.memory().numTensors;
    for (const seed of [1, 2, 3]) {
      const rng = Rng.fromSeed(seed);
      const [N, W, M, q, D] = [6, 3, 2, 2, 4];
      const keys = randn(rng, [W, M, D], 0.5);
      const A = randn(rng, [W, M, q, D], 0.5);
      const b = randn(rng, [W, M, q], 0.5);
      const u = randn(rng, [N, W, D]);
      // s correlated with g so that theta lands strictly inside (0, 1) for some neurons
      const g = randn(rng, [N, W, q]);
      const s = tf.tidy(() => tf.add(tf.mul(g, 0.7), randn(rng, [N, W, q], 0.6)));
      const thetaPrev = tf.tensor1d([0.3, 0.5, 0.7]);
      const fwd = slotLayerForward(u, { keys, A, b });
      const est = estimateThetaBatch({ g, s, u, alpha: fwd.alpha, y: fwd.y, thetaPrev, eps: 1e-6 });
      const got = Array.from(est.dataSync());
      // the host (JavaScript) and tensor implementations agree
      const viaTensor = estimateThetaBatchTensor({
        g,
        s,
        u,
        alpha: fwd.alpha,
        y: fwd.y,
        thetaPrev,
        eps: 1e-6,
      });
      const viaHost = estimateThetaBatchHost({ g, s, u, alpha: fwd.alpha, y: fwd.y, thetaPrev, eps: 1e-6 });
      const hostVals = Array.from(viaHost.dataSync());
      for (const [i, v] of Array.from(viaTensor.dataSync()).entries()) {
        expect(Math.abs(v - (hostVals[i] as number))).toBeLessThan(1e-5);
      }
      tf.dispose([viaTensor, viaHost]);
      // explicit per-sample gradients of <e_n, out(u_n)> for each neuron
      const unit = (x: tf.Tensor) => tf.div(x, tf.maximum(tf.norm(x, "euclidean", -1, true), 1e-12));
      const perSample = (e: tf.Tensor, n: number): number[][] =>
        tf.tidy(() => {
          const un = tf.slice(u, [n, 0, 0], [1, W, D]);
          const en = tf.slice(unit(e), [n, 0, 0], [1, W, q]);
          const f = (k: tf.Tensor, a: tf.Tensor, bb: tf.Tensor) =>
            tf.sum(tf.mul(slotLayerForward(un, { keys: k, A: a, b: bb }).out, en));
          const [gk, ga, gb] = tf.grads(f)([keys, A, b]) as [tf.Tensor, tf.Tensor, tf.Tensor];
          const rows: number[][] = [];
          const kk = gk.arraySync() as number[][][];
          const aa = ga.arraySync() as number[][][][];
          const bbb = gb.arraySync() as number[][][];
          for (let i = 0; i < W; i++)
            rows.push([...(kk[i] ?? []).flat(), ...(aa[i] ?? []).flat(2), ...(bbb[i] ?? []).flat()]);
          return rows;
        });
      const wRows = Array.from({ length: N }, (_, n) => perSample(g, n));
      const hRows = Array.from({ length: N }, (_, n) => perSample(s, n));
      const prev = [0.3, 0.5, 0.7];
      for (let i = 0; i < W; i++) {
        const expected = naiveTheta(
          wRows.map((r) => r[i] as number[]),
          hRows.map((r) => r[i] as number[]),
          prev[i] as number,
          1e-6,
        );
        expect(Math.abs((got[i] as number) - expected)).toBeLessThan(2e-5);
      }
      tf.dispose([keys, A, b, u, g, s, thetaPrev, fwd.out, fwd.alpha, fwd.y, est]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it("returns thetaPrev for a single sample", async () => {
    await useBackend(backend);
    const t = tf.tidy(() =>
      estimateThetaBatch({
        g: tf.ones([1, 2, 2]),
        s: tf.ones([1, 2, 2]),
        u: tf.ones([1, 2, 3]),
        alpha: tf.fill([1, 2, 2], 0.5),
        y: tf.zeros([1, 2, 2, 2]),
        thetaPrev: tf.tensor1d([0.25, 0.75]),
        eps: 1e-6,
      }),
    );
    expect(Array.from(t.dataSync())).toEqual([0.25, 0.75]);
    t.dispose();
  });
});
