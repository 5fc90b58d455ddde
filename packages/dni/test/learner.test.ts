import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { blockTensors, DniLearner, type LearnerOptions } from "../src/index.js";
import { randomMatrix, useCpu } from "./helpers.js";

beforeAll(useCpu);

function snapshot(l: DniLearner): Float32Array[] {
  return l.netParams.flatMap(blockTensors).map((t) => t.dataSync() as Float32Array);
}

describe("the true gradient in place of the SG", () => {
  const cases: [string, Partial<LearnerOptions>][] = [
    [
      "one SG in the middle, relu",
      { net: { layerSizes: [5, 7, 6, 4, 3], activation: "relu", batchNorm: false } },
    ],
    [
      "SG everywhere, sigmoid + batch norm",
      { net: { layerSizes: [5, 7, 6, 4, 3], activation: "sigmoid", batchNorm: true }, sgAt: [1, 2, 3] },
    ],
    ["SG on the output", { net: { layerSizes: [5, 3], activation: "linear", batchNorm: false }, sgAt: [1] }],
  ];
  it.each(cases)("%s: updates equal backprop bit for bit", (_, extra) => {
    const x = randomMatrix(1, "x", 16, 5);
    const labels = tf.tensor1d([0, 1, 2, 1, 0, 2, 2, 1, 0, 0, 1, 2, 0, 1, 2, 1], "int32");
    const y = tf.cast(tf.oneHot(labels, 3), "float32") as tf.Tensor2D;
    labels.dispose();
    const base: LearnerOptions = {
      net: { layerSizes: [5, 7, 6, 4, 3], activation: "relu", batchNorm: false },
      loss: "softmax",
      method: "backprop",
      learningRate: 1e-2,
      seed: 3,
      ...extra,
    };
    const bp = new DniLearner({ ...base, method: "backprop" });
    const sg = new DniLearner({ ...base, method: "sg", trueGradientInPlaceOfSg: true });
    for (let s = 0; s < 3; s++) {
      const a = bp.step(x, y);
      const b = sg.step(x, y);
      expect(b.loss).toBe(a.loss);
      const pa = snapshot(bp);
      const pb = snapshot(sg);
      for (const [i, v] of pa.entries()) {
        expect(Buffer.from((pb[i] as Float32Array).buffer).equals(Buffer.from(v.buffer))).toBe(true);
      }
    }
    bp.dispose();
    sg.dispose();
    tf.dispose([x, y]);
  });
});
