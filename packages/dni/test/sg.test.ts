import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import {
  DniLearner,
  initialSgParams,
  linearSgGradients,
  SG_CONDITIONINGS,
  type SgParams,
  type SgSpec,
  sgForward,
  sgFromTensors,
  sgLoss,
  sgTensors,
} from "../src/index.js";
import { randomMatrix, useCpu } from "./helpers.js";

beforeAll(useCpu);

const n = 6;
const d = 4;
const k = 3;

function randomParams(spec: SgSpec, seed: number): SgParams {
  const zero = initialSgParams(spec, d, k);
  const ts = sgTensors(zero).map((t, i) =>
    randomMatrix(seed, `p${i}`, t.shape[0] as number, t.shape[1] as number, 0.5),
  );
  tf.dispose(sgTensors(zero));
  return sgFromTensors(spec, ts);
}

describe("SG module gradients", () => {
  it.each(SG_CONDITIONINGS)(
    "linear %s: the written-out regression update equals autodiff",
    (conditioning) => {
      const spec: SgSpec = { form: "linear", conditioning };
      const p = randomParams(spec, 1);
      const h = randomMatrix(2, "h", n, d);
      const y = randomMatrix(3, "y", n, k);
      const target = randomMatrix(4, "t", n, d);
      const hand = linearSgGradients(spec, p, h, y, target);
      const auto = tf.grads((...ts: tf.Tensor[]) => sgLoss(spec, sgFromTensors(spec, ts), h, y, target))(
        sgTensors(p),
      );
      expect(hand.length).toBe(auto.length);
      hand.forEach((g, i) => {
        const a = auto[i] as tf.Tensor;
        expect(g.shape).toEqual(a.shape);
        const diff = tf.max(tf.abs(tf.sub(g, a))).dataSync()[0] as number;
        expect(diff).toBeLessThan(1e-5);
        expect(tf.max(tf.abs(a)).dataSync()[0]).toBeGreaterThan(1e-2);
      });
      tf.dispose([...hand, ...auto, ...sgTensors(p), h, y, target]);
    },
  );

  it("the written-out update (A, B, C) agrees with float64 finite differences", () => {
    const spec: SgSpec = { form: "linear", conditioning: "both" };
    const p = randomParams(spec, 5);
    const h = randomMatrix(6, "h", n, d);
    const y = randomMatrix(7, "y", n, k);
    const target = randomMatrix(8, "t", n, d);
    const [A, B, C] = sgTensors(p).map((t) => Array.from(t.dataSync(), Number));
    const H = Array.from(h.dataSync(), Number);
    const Y = Array.from(y.dataSync(), Number);
    const T = Array.from(target.dataSync(), Number);
    // The regression loss in float64, written independently of the package.
    const loss64 = (a: number[], b: number[], c: number[]) => {
      let s = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < d; j++) {
          let v = (c[j] as number) - (T[i * d + j] as number);
          for (let q = 0; q < d; q++) v += (H[i * d + q] as number) * (a[q * d + j] as number);
          for (let q = 0; q < k; q++) v += (Y[i * k + q] as number) * (b[q * d + j] as number);
          s += v * v;
        }
      }
      return s / (2 * n);
    };
    const params = [A as number[], B as number[], C as number[]];
    const eps = 1e-6;
    const hand = linearSgGradients(spec, p, h, y, target).map((t) => t.dataSync());
    let worst = 0;
    params.forEach((arr, which) => {
      for (let i = 0; i < arr.length; i++) {
        const plus = params.map((q) => [...q]);
        const minus = params.map((q) => [...q]);
        (plus[which] as number[])[i] = (arr[i] as number) + eps;
        (minus[which] as number[])[i] = (arr[i] as number) - eps;
        const fd =
          (loss64(...(plus as [number[], number[], number[]])) -
            loss64(...(minus as [number[], number[], number[]]))) /
          (2 * eps);
        const got = (hand[which] as Float32Array)[i] as number;
        worst = Math.max(worst, Math.abs(got - fd) / Math.max(1, Math.abs(fd)));
      }
    });
    // float32 arithmetic against a float64 central difference (truncation error ~1e-10).
    expect(worst).toBeLessThan(2e-6);
    tf.dispose([...sgTensors(p), h, y, target]);
  });

  it("sigmoid-linear: represents the log-loss gradient behind a linear layer exactly", () => {
    const spec: SgSpec = { form: "sigmoid-linear", conditioning: "both" };
    const V = randomMatrix(9, "v", d, 1);
    const p: SgParams = { a: V, b: tf.transpose(V) as tf.Tensor2D, c: tf.zeros([1, 1]) };
    const h = randomMatrix(10, "h", n, d);
    const y = tf.tensor2d([0, 1, 1, 0, 1, 0], [n, 1]);
    const truth = tf.grad((hh: tf.Tensor) => {
      const z = tf.matMul(hh as tf.Tensor2D, V);
      return tf.sum(tf.sub(tf.softplus(z), tf.mul(y, z)));
    })(h);
    const diff = tf.max(tf.abs(tf.sub(sgForward(spec, p, h, y), truth))).dataSync()[0] as number;
    expect(diff).toBeLessThan(1e-6);
    tf.dispose([V, p.b as tf.Tensor, p.c, h, y, truth]);
  });
});

describe("the SG-driven update", () => {
  it("is autodiff of <h_k, SG(h_k, y)> / n with the SG held constant", () => {
    const net = { layerSizes: [3, 5, 4, 2], activation: "tanh" as const, batchNorm: false };
    const x = randomMatrix(11, "x", n, 3);
    const y = randomMatrix(12, "y", n, 2);
    const l = new DniLearner({
      net,
      loss: "mse",
      method: "sg",
      sgAt: [2],
      learningRate: 0.1,
      optimizer: "sgd",
      seed: 1,
    });
    // Give the module non-zero parameters by training it a few steps, then read its prediction.
    for (let s = 0; s < 3; s++) l.step(x, y);
    const before = l.netParams.map((p) => [p.w.dataSync().slice(), p.b.dataSync().slice()]);
    const expected = tf.tidy(() => {
      const hs = l.forwardAll(x, false);
      const sg = sgForward(l.sgSpec, l.sgModules[0] as SgParams, hs[2] as tf.Tensor2D, y);
      const lower = l.netParams.slice(0, 2).flatMap((p) => [p.w, p.b]);
      return tf
        .grads((w0: tf.Tensor, b0: tf.Tensor, w1: tf.Tensor, b1: tf.Tensor) => {
          const h1 = tf.tanh(tf.add(tf.matMul(x, w0 as tf.Tensor2D), b0));
          const h2 = tf.tanh(tf.add(tf.matMul(h1, w1 as tf.Tensor2D), b1));
          return tf.div(tf.sum(tf.mul(h2, sg)), n);
        })(lower)
        .map((g) => g.dataSync().slice());
    });
    l.step(x, y);
    const after = l.netParams.map((p) => [p.w.dataSync(), p.b.dataSync()]);
    // SGD with lr 0.1: the change of each lower parameter is -0.1 * gradient.
    for (const blk of [0, 1]) {
      for (const j of [0, 1]) {
        const g = expected[blk * 2 + j] as Float32Array;
        const b0 = (before[blk] as Float32Array[])[j] as Float32Array;
        const a0 = (after[blk] as Float32Array[])[j] as Float32Array;
        for (let i = 0; i < g.length; i++)
          expect((b0[i] as number) - (a0[i] as number)).toBeCloseTo(0.1 * (g[i] as number), 6);
        expect(Math.max(...Array.from(g, Math.abs))).toBeGreaterThan(1e-4);
      }
    }
    l.dispose();
    tf.dispose([x, y]);
  });

  it("differs from backprop when the SG is used (the test above is not vacuous)", () => {
    const net = { layerSizes: [3, 5, 4, 2], activation: "tanh" as const, batchNorm: false };
    const x = randomMatrix(13, "x", n, 3);
    const y = randomMatrix(14, "y", n, 2);
    const a = new DniLearner({ net, loss: "mse", method: "backprop", learningRate: 0.05, seed: 2 });
    const b = new DniLearner({ net, loss: "mse", method: "sg", learningRate: 0.05, seed: 2 });
    for (let s = 0; s < 3; s++) {
      a.step(x, y);
      b.step(x, y);
    }
    const wa = a.netParams[0]?.w.dataSync() as Float32Array;
    const wb = b.netParams[0]?.w.dataSync() as Float32Array;
    expect(Math.max(...Array.from(wa, (v, i) => Math.abs(v - (wb[i] as number))))).toBeGreaterThan(1e-4);
    a.dispose();
    b.dispose();
    tf.dispose([x, y]);
  });
});
