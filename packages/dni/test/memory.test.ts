import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { DniLearner, type LearnerOptions } from "../src/index.js";
import { randomMatrix, useCpu } from "./helpers.js";

beforeAll(useCpu);

describe("tfjs memory stays flat over training", () => {
  const net = { layerSizes: [6, 8, 8, 8, 3], activation: "relu" as const, batchNorm: true };
  const cases: [string, Partial<LearnerOptions>][] = [
    ["backprop", { method: "backprop" }],
    ["SG everywhere, true targets", { method: "sg", sgAt: [1, 2, 3], sgTarget: "true" }],
    [
      "sigmoid-linear SG in the middle",
      { method: "sg", sg: { form: "sigmoid-linear", conditioning: "both" } },
    ],
    ["feedback alignment", { method: "fa" }],
    ["DFA", { method: "dfa" }],
  ];
  it.each(cases)("%s", (_, extra) => {
    const x = randomMatrix(1, "x", 8, 6);
    const y = tf.tidy(() =>
      tf.cast(tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], "int32"), 3), "float32"),
    ) as tf.Tensor2D;
    const start = tf.memory().numTensors;
    const l = new DniLearner({
      net,
      loss: "softmax",
      method: "backprop",
      learningRate: 1e-2,
      seed: 1,
      ...extra,
    });
    l.step(x, y);
    const tensors = tf.memory().numTensors;
    const bytes = tf.memory().numBytes;
    for (let s = 0; s < 10; s++) {
      l.step(x, y);
      l.evaluate(x, y);
    }
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.memory().numBytes).toBe(bytes);
    l.dispose();
    expect(tf.memory().numTensors).toBe(start);
    tf.dispose([x, y]);
  });
});
