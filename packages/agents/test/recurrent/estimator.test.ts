import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { disposeLossTensors, lossTensors } from "../../src/recurrent/batch.js";
import { sparseNetBptt } from "../../src/recurrent/sparsenetBptt.js";
import { temporalThetaSchedule } from "../../src/sgprop/thetaSchedule.js";
import { useBackend } from "../helpers.js";
import { randomBatch, TINY, tinySparseNet } from "./fixtures.js";

/** Neuron inputs u_{t,b,i} (full D, zeros for the embedding part of non-input neurons), naive float64 loops. */
function neuronInputs(
  params: Record<string, Float32Array>,
  e: Float32Array,
  parentIdx: Int32Array,
  starts: ArrayLike<number>,
  T: number,
  B: number,
): Float64Array[] {
  const { width: W, neuronDim: q, numParents: P, numSlots: M, numInputNeurons: Ni, embedDim: E } = TINY;
  const D = P * q + E;
  const inputs: Float64Array[] = [];
  let h = new Float64Array(B * W * q);
  for (let t = 0; t < T; t++) {
    const next = new Float64Array(B * W * q);
    for (let b = 0; b < B; b++) {
      if (starts[t * B + b]) h.fill(0, b * W * q, (b + 1) * W * q);
      for (let i = 0; i < W; i++) {
        const u = new Float64Array(D);
        for (let p = 0; p < P; p++)
          for (let j = 0; j < q; j++)
            u[p * q + j] = h[(b * W + (parentIdx[i * P + p] as number)) * q + j] as number;
        if (i < Ni) for (let k = 0; k < E; k++) u[P * q + k] = e[(t * B + b) * E + k] as number;
        inputs.push(u);
        const scores = Array.from({ length: M }, (_, s) => {
          let z = 0;
          for (let k = 0; k < D; k++)
            z += (params.neuronKeys?.[(i * M + s) * D + k] as number) * (u[k] as number);
          return z / Math.sqrt(D);
        });
        const mx = Math.max(...scores);
        const ex = scores.map((z) => Math.exp(z - mx));
        const tot = ex.reduce((a, c) => a + c, 0);
        for (let j = 0; j < q; j++) {
          let out = 0;
          for (let s = 0; s < M; s++) {
            let z = params.policyB?.[(i * M + s) * q + j] as number;
            for (let k = 0; k < D; k++)
              z += (params.policyA?.[((i * M + s) * q + j) * D + k] as number) * (u[k] as number);
            out += ((ex[s] as number) / tot) * Math.tanh(z);
          }
          next[(b * W + i) * q + j] = out;
        }
      }
    }
    h = next;
  }
  return inputs; // index ((t*B + b) * W + i)
}

describe("adaptive theta estimator (eq. 3)", () => {
  beforeAll(async () => {
    await useBackend("cpu");
  });

  it("the closed form equals eq. 3 on explicit per-sample gradients from autodiff", async () => {
    const T = 5;
    const B = 3;
    const batch = randomBatch(7, T, B, TINY.obsDim, TINY.numActions, [4, 2, 3]);
    const policy = tinySparseNet(21);
    const { width: W, neuronDim: q, numSlots: M } = TINY;
    const D = policy.dims.D;
    const thetaPrev = new Float64Array(W).map((_, i) => 0.3 + 0.1 * i);
    const lt = lossTensors(batch, TINY.obsDim, TINY.numActions, { gamma: 0.95, entropyCoef: 0.01 });
    const e = tf.tidy(() => policy.embed(lt.obs));
    const eData = Float32Array.from(await e.data());
    e.dispose();
    const r = sparseNetBptt(policy, batch, lt, {
      entropyCoef: 0.01,
      record: true,
      mixing: {
        thetaSchedule: temporalThetaSchedule(thetaPrev, policy.graph, T),
        mode: "prediction",
        thetaPrev,
      },
    });
    disposeLossTensors(lt);
    const g = Float32Array.from((await r.record?.trueGrad?.data()) ?? []);
    const s = Float32Array.from((await r.record?.sgPrediction?.data()) ?? []);
    const params: Record<string, Float32Array> = {};
    for (const [k, v] of policy.params) params[k] = Float32Array.from(await v.data());
    const inputs = neuronInputs(params, eData, policy.parentIdx, batch.episodeStarts, T, B);
    const rows: number[] = [];
    for (let k = 0; k < T * B; k++) if (batch.valid[k]) rows.push(k);
    const N = rows.length;

    for (let i = 0; i < W; i++) {
      const A = tf.tensor(params.policyA?.subarray(i * M * q * D, (i + 1) * M * q * D) ?? [], [M, q, D]);
      const b = tf.tensor(params.policyB?.subarray(i * M * q, (i + 1) * M * q) ?? [], [M, q]);
      const keys = tf.tensor(params.neuronKeys?.subarray(i * M * D, (i + 1) * M * D) ?? [], [M, D]);
      // Per-sample gradient of <x, out_i(u)> with respect to (A_i, b_i, keys_i), flattened.
      const perSample = (u: Float64Array, x: number[]): Float64Array => {
        const norm = Math.max(Math.hypot(...x), 1e-12);
        const xh = tf.tensor1d(x.map((v) => v / norm));
        const ut = tf.tensor1d(Float32Array.from(u));
        const f = (a: tf.Tensor, bb: tf.Tensor, k: tf.Tensor) => {
          const alpha = tf.softmax(tf.div(tf.sum(tf.mul(k, ut), 1), Math.sqrt(D)));
          const y = tf.tanh(tf.add(tf.sum(tf.mul(a, ut), 2), bb));
          return tf.sum(tf.mul(tf.sum(tf.mul(tf.expandDims(alpha, 1), y), 0), xh));
        };
        const grads = tf.grads(f)([A, b, keys]);
        const flat = Float64Array.from(grads.flatMap((t) => Array.from(t.dataSync())));
        for (const t of [...grads, xh, ut]) t.dispose();
        return flat;
      };
      const ws: Float64Array[] = [];
      const ds: Float64Array[] = [];
      for (const row of rows) {
        const at = (arr: Float32Array) => Array.from(arr.subarray((row * W + i) * q, (row * W + i + 1) * q));
        const u = inputs[row * W + i] as Float64Array;
        const w = perSample(u, at(g));
        const hatW = perSample(u, at(s));
        ws.push(w);
        ds.push(hatW.map((v, k) => v - (w[k] as number)));
      }
      const dim = ws[0]?.length ?? 0;
      const mean = (xs: Float64Array[]) => {
        const m = new Float64Array(dim);
        for (const x of xs) for (let k = 0; k < dim; k++) m[k] = (m[k] as number) + (x[k] as number) / N;
        return m;
      };
      const dot = (a: Float64Array, c: Float64Array) =>
        a.reduce((acc, v, k) => acc + v * (c[k] as number), 0);
      const wBar = mean(ws);
      const dBar = mean(ds);
      const V = Math.max(0, (ds.reduce((acc, d) => acc + dot(d, d), 0) / N - dot(dBar, dBar)) / (N - 1));
      const C =
        (ws.reduce((acc, w, n) => acc + dot(w, ds[n] as Float64Array), 0) / N - dot(wBar, dBar)) / (N - 1);
      const B2 = Math.max(0, dot(dBar, dBar) - V);
      const want = V + B2 > 1e-12 ? Math.min(1, Math.max(0, 1 + C / (V + B2))) : (thetaPrev[i] as number);
      expect(Math.abs((r.thetaBatch?.[i] ?? Number.NaN) - want)).toBeLessThan(1e-4);
      for (const t of [A, b, keys]) t.dispose();
    }
    // The estimate is informative here (not just the fallback or a clamp everywhere).
    const tb = Array.from(r.thetaBatch ?? []);
    expect(tb.some((v, i) => v !== thetaPrev[i] && v > 0 && v < 1)).toBe(true);
    for (const t of r.grads.values()) t.dispose();
    for (const t of r.sgGrads?.values() ?? []) t.dispose();
    const rec = r.record;
    if (rec !== undefined)
      for (const t of [rec.logits, rec.logProbs, rec.entropy, rec.trueGrad, rec.mixedGrad, rec.sgPrediction])
        t?.dispose();
    policy.dispose();
  });
});
