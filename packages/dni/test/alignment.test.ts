import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { DniLearner, type Method } from "../src/index.js";
import { randomMatrix, useCpu } from "./helpers.js";

beforeAll(useCpu);

/** A 3-class problem whose labels are a fixed random linear map of the inputs (learnable). */
function problem() {
  const x = randomMatrix(21, "x", 64, 8);
  const y = tf.tidy(() => {
    const w = randomMatrix(22, "w", 8, 3);
    return tf.cast(tf.oneHot(tf.argMax(tf.matMul(x, w), 1), 3), "float32");
  }) as tf.Tensor2D;
  return { x, y };
}

describe("feedback alignment and DFA", () => {
  it.each(["fa", "dfa", "sg", "backprop"] as Method[])("%s learns a small classification task", (method) => {
    const { x, y } = problem();
    const l = new DniLearner({
      net: { layerSizes: [8, 32, 32, 3], activation: "tanh", batchNorm: false },
      loss: "softmax",
      method,
      learningRate: 1e-2,
      seed: 5,
    });
    const first = l.evaluate(x, y);
    for (let s = 0; s < 150; s++) l.step(x, y);
    expect(l.evaluate(x, y)).toBeLessThan(0.5 * first);
    l.dispose();
    tf.dispose([x, y]);
  });

  it("the output block gets the true gradient, the hidden ones do not", () => {
    const { x, y } = problem();
    const net = { layerSizes: [8, 16, 16, 3], activation: "tanh" as const, batchNorm: false };
    const make = (method: Method) =>
      new DniLearner({ net, loss: "softmax", method, learningRate: 1e-2, seed: 6 });
    const [bp, fa, dfa] = [make("backprop"), make("fa"), make("dfa")];
    for (const l of [bp, fa, dfa]) l.step(x, y);
    const w = (l: DniLearner, i: number) => l.netParams[i]?.w.dataSync() as Float32Array;
    const maxDiff = (a: Float32Array, b: Float32Array) =>
      Math.max(...Array.from(a, (v, i) => Math.abs(v - (b[i] as number))));
    for (const l of [fa, dfa]) {
      expect(maxDiff(w(l, 2), w(bp, 2))).toBe(0);
      expect(maxDiff(w(l, 0), w(bp, 0))).toBeGreaterThan(1e-5);
    }
    // FA's middle block sees W3's feedback stand-in; DFA's sees the error projected directly.
    expect(maxDiff(w(fa, 1), w(dfa, 1))).toBeGreaterThan(1e-5);
    for (const l of [bp, fa, dfa]) l.dispose();
    tf.dispose([x, y]);
  });
});
