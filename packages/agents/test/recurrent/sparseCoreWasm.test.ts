import { Rng } from "@sgprop/gym";
import { onOneThread, withKernelHelper } from "@sgprop/kernels";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import {
  allocTrace,
  type CoreMaps,
  type CoreSizes,
  coreBackward,
  coreForwardStep,
  coreKernels,
  corePredictions,
  coreSizes,
  disposeKernels,
  PAPER_SPARSENET_SIZES,
  rolloutStep,
  rolloutStepParallel,
  SparseNetPolicy,
} from "../../src/recurrent/index.js";
import { TEST_BACKENDS, useBackend } from "../helpers.js";

// Odd sizes: no column count is a multiple of the kernels' blocks of 8.
const s: CoreSizes = { W: 11, q: 3, P: 3, M: 2, Ni: 4, Pq: 9, Mq: 6, C: 8, D: 17 };

function filled(a: Float32Array, rng: Rng, scale = 1): Float32Array {
  for (let i = 0; i < a.length; i++) a[i] = scale * rng.normal();
  return a;
}

function randomMaps(rng: Rng): CoreMaps {
  return {
    wPar: filled(new Float32Array(s.W * s.Pq * s.C), rng),
    bias: filled(new Float32Array(s.W * s.C), rng),
    parentIdx: Int32Array.from({ length: s.W * s.P }, () => rng.integer(0, s.W - 1)),
  };
}

/** |actual - expected| <= abs + rel |expected| everywhere (abs defaults to rel x the largest |expected|). */
function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rel: number,
  abs?: number,
): void {
  expect(actual.length).toBe(expected.length);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i] as number));
  const floor = abs ?? rel * scale;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i] as number;
    worst = Math.max(worst, Math.abs((actual[i] as number) - e) / (floor + rel * Math.abs(e)));
  }
  expect(worst).toBeLessThanOrEqual(1);
}

/** The forward step in plain loops with Math.tanh / Math.exp (the JavaScript the kernel replaced). */
function referenceStep(
  maps: CoreMaps,
  hPrev: Float32Array,
  keep: Float32Array,
  ext: Float32Array,
  n: number,
): { u: Float32Array; y: Float32Array; alpha: Float32Array; h: Float32Array } {
  const { W, q, P, M, Ni, Pq, Mq, C, D } = s;
  const u = new Float32Array(n * W * Pq);
  const y = new Float32Array(n * W * Mq);
  const alpha = new Float32Array(n * W * M);
  const h = new Float32Array(n * W * q);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < W; i++) {
      for (let p = 0; p < P; p++)
        for (let j = 0; j < q; j++)
          u[(b * W + i) * Pq + p * q + j] =
            (keep[b] as number) * (hPrev[(b * W + (maps.parentIdx[i * P + p] as number)) * q + j] as number);
      const z = new Float64Array(C);
      for (let c = 0; c < C; c++) {
        let acc = (maps.bias[i * C + c] as number) + (i < Ni ? (ext[(b * Ni + i) * C + c] as number) : 0);
        for (let k = 0; k < Pq; k++)
          acc += (u[(b * W + i) * Pq + k] as number) * (maps.wPar[(i * Pq + k) * C + c] as number);
        z[c] = acc;
      }
      const o = b * W + i;
      for (let c = 0; c < Mq; c++) y[o * Mq + c] = Math.tanh(z[c] as number);
      const scores = Array.from({ length: M }, (_, m) => (z[Mq + m] as number) / Math.sqrt(D));
      const max = Math.max(...scores);
      const e = scores.map((x) => Math.exp(x - max));
      const total = e.reduce((a, x) => a + x, 0);
      for (let m = 0; m < M; m++) alpha[o * M + m] = (e[m] as number) / total;
      for (let j = 0; j < q; j++) {
        let acc = 0;
        for (let m = 0; m < M; m++) acc += (alpha[o * M + m] as number) * (y[o * Mq + m * q + j] as number);
        h[o * q + j] = acc;
      }
    }
  return { u, y, alpha, h };
}

describe("neuron core on the WebAssembly kernels", () => {
  it("a forward step equals plain loops with Math.tanh and Math.exp to f32 rounding", () => {
    const rng = Rng.fromSeed(3);
    const maps = randomMaps(rng);
    const n = 7;
    // Large states drive tanh into saturation and the routing softmax far from uniform.
    const hPrev = filled(new Float32Array(n * s.W * s.q), rng, 3);
    const keep = Float32Array.from({ length: n }, (_, b) => (b === 2 ? 0 : 1));
    const ext = filled(new Float32Array(n * s.Ni * s.C), rng, 4);
    const trace = allocTrace(s, n + 2);
    coreForwardStep(s, maps, hPrev, 0, keep, ext, 0, trace, 2, n);
    const want = referenceStep(maps, hPrev, keep, ext, n);
    expect(Array.from(trace.uPar.subarray(2 * s.W * s.Pq))).toEqual(Array.from(want.u));
    // The kernel sums the ~10 products of a pre-activation (terms up to ~10) in f32: a few 1e-6.
    expectClose(trace.y.subarray(2 * s.W * s.Mq), want.y, 1e-6, 5e-6);
    expectClose(trace.alpha.subarray(2 * s.W * s.M), want.alpha, 1e-6, 5e-6);
    expectClose(trace.h.subarray(2 * s.W * s.q), want.h, 1e-6, 5e-6);
    expect(trace.y.subarray(0, 2 * s.W * s.Mq).every((v) => v === 0)).toBe(true);
    expect(want.y.some((v) => Math.abs(v) > 0.999)).toBe(true);
  });

  it("its tanh and softmax agree with Math.tanh / Math.exp to the last f32 bit (tanh) or ulp (softmax)", () => {
    const rng = Rng.fromSeed(11);
    const maps = randomMaps(rng);
    maps.wPar.fill(0); // the pre-activations are then exactly the biases
    const trace = allocTrace(s, 1);
    const one = Float32Array.of(1);
    let checked = 0;
    for (let call = 0; call < 40; call++) {
      const scale = 10 ** rng.integer(-9, 1);
      filled(maps.bias, rng, scale * 3);
      const fresh = { ...maps }; // a new maps object: the step re-reads the biases
      coreForwardStep(
        s,
        fresh,
        new Float32Array(s.W * s.q),
        0,
        one,
        new Float32Array(s.Ni * s.C),
        0,
        trace,
        0,
        1,
      );
      for (let i = 0; i < s.W; i++) {
        for (let c = 0; c < s.Mq; c++) {
          expect(trace.y[i * s.Mq + c]).toBe(Math.fround(Math.tanh(maps.bias[i * s.C + c] as number)));
          checked++;
        }
        const scores = Array.from(
          { length: s.M },
          (_, m) => (maps.bias[i * s.C + s.Mq + m] as number) / Math.sqrt(s.D),
        );
        const e = scores.map((x) => Math.exp(x - Math.max(...scores)));
        const total = e.reduce((a, x) => a + x, 0);
        for (let m = 0; m < s.M; m++) {
          const want = Math.fround((e[m] as number) / total);
          expect(Math.abs((trace.alpha[i * s.M + m] as number) - want)).toBeLessThanOrEqual(want * 2 ** -23);
        }
      }
    }
    expect(checked).toBe(40 * s.W * s.Mq);
  });

  it("predictions and the mixed backward pass equal plain loops", () => {
    const rng = Rng.fromSeed(5);
    const { W, q, P, M, Ni, Pq, Mq, C, D } = s;
    const T = 4;
    const B = 3;
    const R = T * B;
    const maps = randomMaps(rng);
    const trace = allocTrace(s, R);
    const ext = filled(new Float32Array(R * Ni * C), rng);
    const keep = Float32Array.from({ length: R }, (_, r) => (r === 2 * B + 1 ? 0 : 1));
    for (let t = 0; t < T; t++) {
      const prev = t === 0 ? new Float32Array(B * W * q) : trace.h;
      coreForwardStep(
        s,
        maps,
        prev,
        t === 0 ? 0 : (t - 1) * B * W * q,
        keep.subarray(t * B),
        ext,
        t * B * Ni * C,
        trace,
        t * B,
        B,
      );
    }
    const sgParT = filled(new Float32Array(W * Mq * Pq), rng);
    const sgBias = filled(new Float32Array(W * Mq), rng);
    const sgExt = filled(new Float32Array(R * Ni * Mq), rng);
    const pred = corePredictions(s, sgParT, sgBias, sgExt, trace);
    const wantPred = new Float32Array(R * W * q);
    for (let r = 0; r < R; r++)
      for (let i = 0; i < W; i++)
        for (let j = 0; j < q; j++) {
          let acc = 0;
          for (let m = 0; m < M; m++) {
            const c = m * q + j;
            let z = (sgBias[i * Mq + c] as number) + (i < Ni ? (sgExt[(r * Ni + i) * Mq + c] as number) : 0);
            for (let k = 0; k < Pq; k++)
              z += (trace.uPar[(r * W + i) * Pq + k] as number) * (sgParT[(i * Mq + c) * Pq + k] as number);
            acc += (trace.alpha[(r * W + i) * M + m] as number) * z;
          }
          wantPred[(r * W + i) * q + j] = acc;
        }
    expectClose(pred, wantPred, 1e-5);

    const dActor = filled(new Float32Array(R * W * q), rng);
    const theta = Float64Array.from({ length: T * W }, () => rng.float());
    const got = coreBackward(s, maps, trace, dActor, keep, T, B, { theta, positiveProjection: false, pred });
    // Reference BPTT: gradient at H_t, mix, slot backward, parent scatter.
    const trueGrad = new Float64Array(R * W * q);
    const mixedGrad = new Float64Array(R * W * q);
    const dwPar = new Float64Array(W * Pq * C);
    let carry = new Float64Array(B * W * q);
    for (let t = T - 1; t >= 0; t--) {
      const next = new Float64Array(B * W * q);
      for (let b = 0; b < B; b++)
        for (let i = 0; i < W; i++) {
          const r = t * B + b;
          const o = r * W + i;
          const th = theta[t * W + i] as number;
          const mixed = new Float64Array(q);
          for (let j = 0; j < q; j++) {
            const g = (dActor[o * q + j] as number) + (carry[(b * W + i) * q + j] as number);
            trueGrad[o * q + j] = g;
            mixed[j] = th * g + (1 - th) * (pred[o * q + j] as number);
            mixedGrad[o * q + j] = mixed[j] as number;
          }
          const dz = new Float64Array(C);
          const dA = new Float64Array(M);
          let weighted = 0;
          for (let m = 0; m < M; m++) {
            const a = trace.alpha[o * M + m] as number;
            for (let j = 0; j < q; j++) {
              const yv = trace.y[o * Mq + m * q + j] as number;
              dA[m] = (dA[m] as number) + (mixed[j] as number) * yv;
              dz[m * q + j] = a * (mixed[j] as number) * (1 - yv * yv);
            }
            weighted += a * (dA[m] as number);
          }
          for (let m = 0; m < M; m++)
            dz[Mq + m] = ((trace.alpha[o * M + m] as number) * ((dA[m] as number) - weighted)) / Math.sqrt(D);
          for (let k = 0; k < Pq; k++) {
            let du = 0;
            for (let c = 0; c < C; c++) {
              du += (maps.wPar[(i * Pq + k) * C + c] as number) * (dz[c] as number);
              dwPar[(i * Pq + k) * C + c] =
                (dwPar[(i * Pq + k) * C + c] as number) +
                (trace.uPar[o * Pq + k] as number) * (dz[c] as number);
            }
            const parent = maps.parentIdx[i * P + Math.floor(k / q)] as number;
            const dst = (b * W + parent) * q + (k % q);
            if (t > 0) next[dst] = (next[dst] as number) + (keep[r] as number) * du;
          }
        }
      carry = next;
    }
    expectClose(got.trueGrad, trueGrad, 1e-5);
    expectClose(got.mixedGrad, mixedGrad, 1e-5);
    expectClose(got.dwPar, dwPar, 1e-5);
    expect(got.trueGrad.some((v) => v !== 0)).toBe(true);
  });
});

describe.each(TEST_BACKENDS)("rollout step on the WebAssembly kernels (tfjs %s as reference)", (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it("embedding, core and actor give the tfjs logits and states to f32 rounding", () => {
    const rng = Rng.fromSeed(21);
    const config = {
      obsDim: 7,
      numActions: 3,
      width: 12,
      neuronDim: 3,
      numParents: 3,
      numSlots: 2,
      numInputNeurons: 4,
      embedHidden: 10,
      embedDim: 9,
      actorSlots: 2,
    };
    const policy = SparseNetPolicy.create(config, rng);
    const before = tf.memory().numTensors;
    const B = 5;
    const d = policy.dims;
    const obs = filled(new Float32Array(B * config.obsDim), rng);
    const hPrev = filled(new Float32Array(B * d.W * d.q), rng, 0.5);
    const starts = Float32Array.from({ length: B }, (_, b) => (b === 1 ? 1 : 0));
    const maps = policy.rolloutMaps();
    const trace = allocTrace(coreSizes(d), B);
    const logits = policy.step(maps, hPrev, 0, starts, obs, trace, 0);

    const want = allocTrace(coreSizes(d), B);
    const k = coreKernels(config, policy.params, policy.parentIdx, false);
    const ext = tf.tidy(() => tf.matMul(policy.embed(tf.tensor2d(obs, [B, config.obsDim])), k.wEmb));
    const keep = starts.map((x) => 1 - x);
    coreForwardStep(coreSizes(d), maps.core, hPrev, 0, keep, ext.dataSync() as Float32Array, 0, want, 0, B);
    const wantLogits = tf.tidy(() => policy.logits(tf.tensor2d(want.h, [B, d.W * d.q])));
    expectClose(trace.h, want.h, 1e-5, 1e-6);
    expectClose(trace.alpha, want.alpha, 1e-5, 1e-6);
    expectClose(logits, wantLogits.dataSync(), 1e-5, 1e-6);
    expect(logits.length).toBe(B * config.numActions);
    ext.dispose();
    wantLogits.dispose();
    disposeKernels(k);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => policy.step(maps, hPrev, 0, starts, obs.subarray(1), trace, 0)).toThrow(/observation width/);
    policy.dispose();
  });

  it("a rollout step split between two threads gives the single-thread numbers bit for bit", async () => {
    const rng = Rng.fromSeed(22);
    const config = { ...PAPER_SPARSENET_SIZES, width: 64, obsDim: 11, numActions: 4 };
    const policy = SparseNetPolicy.create(config, rng);
    const d = policy.dims;
    const B = 40; // 40 envs x 64 neurons: above the hand-off size of a rollout step
    const obs = filled(new Float32Array(B * config.obsDim), rng);
    const hPrev = filled(new Float32Array(B * d.W * d.q), rng, 0.5);
    const keep = Float32Array.from({ length: B }, (_, b) => (b % 9 === 4 ? 0 : 1));
    const maps = policy.rolloutMaps();
    const split = allocTrace(coreSizes(d), 2 * B);
    const one = allocTrace(coreSizes(d), 2 * B);
    const got = await withKernelHelper(() =>
      rolloutStepParallel(coreSizes(d), maps.handle, hPrev, 0, keep, obs, split, B, B),
    );
    const want = onOneThread(() =>
      rolloutStep(coreSizes(d), maps.core, maps.weights, hPrev, 0, keep, obs, one, B, B),
    );
    expect(Array.from(got)).toEqual(Array.from(want));
    for (const key of ["uPar", "alpha", "y", "h"] as const) expect(split[key]).toEqual(one[key]);
    expect(one.h.subarray(B * d.W * d.q).some((v) => v !== 0)).toBe(true);
    policy.dispose();
  });
});
