import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import {
  affineLoss,
  artificialData,
  DniLearner,
  globalOptimum,
  Linear64Learner,
  type Linear64Options,
  matrix64,
} from "../src/index.js";
import { useCpu } from "./helpers.js";

beforeAll(useCpu);

// The pinned budget: k = 2, 100 points, shallow model with its SG on the output, full batch,
// Adam lr 0.3 for 2000 steps (the paper: Adam 3e-5 for many more steps; a larger step keeps the
// test to seconds and shows the same pattern).
const STEPS = 2000;
const LR = 0.3;

function finalGap(
  kind: "linear" | "noisy" | "random",
  loss: "mse" | "logistic",
  method: "backprop" | "sg",
  index = 0,
) {
  const d = artificialData(kind, loss, 2, 100, 0, index);
  const l = new Linear64Learner({
    layerSizes: [2, 1],
    loss,
    method,
    sgAt: [1],
    conditioning: "both",
    learningRate: LR,
    seed: 0,
  });
  const x = matrix64(100, 2, d.x);
  const y = matrix64(100, 1, d.y);
  for (let s = 0; s < STEPS; s++) l.step(x, y);
  return { final: l.loss(x, y), optimum: globalOptimum(d, loss) };
}

describe("Table 2's pattern at a small size", () => {
  it.each(["linear", "noisy", "random"] as const)(
    "MSE, %s: backprop converges and SG ends within 1e-4 of the optimum",
    (kind) => {
      const bp = finalGap(kind, "mse", "backprop");
      const sg = finalGap(kind, "mse", "sg");
      expect(bp.final - bp.optimum).toBeLessThan(1e-4);
      expect(sg.final - sg.optimum).toBeLessThan(1e-4);
      expect(sg.final - sg.optimum).toBeGreaterThan(-1e-9);
    },
  );

  it("log loss on separable data: backprop converges, SG ends more than 1e-2 above it", () => {
    for (const index of [0, 1]) {
      const bp = finalGap("linear", "logistic", "backprop", index);
      const sg = finalGap("linear", "logistic", "sg", index);
      expect(bp.optimum).toBe(0); // separable: the infimum
      expect(bp.final).toBeLessThan(1e-2);
      expect(sg.final - bp.final).toBeGreaterThan(1e-2);
    }
  });
});

describe("the float64 optimum", () => {
  it("least squares: no affine perturbation does better", () => {
    const d = artificialData("noisy", "mse", 2, 100, 0, 3);
    const opt = globalOptimum(d, "mse");
    expect(opt).toBeGreaterThan(0);
    for (const delta of [1e-3, -1e-3]) {
      for (let j = 0; j < 3; j++) {
        const theta = new Float64Array(3);
        // Solve again through the loss: a perturbed theta around the optimum has a larger loss.
        theta[j] = delta;
        expect(affineLoss(d, "mse", theta)).toBeGreaterThan(opt);
      }
    }
  });
});

describe("the TensorFlow.js learner against the float64 one", () => {
  const cases: [string, Omit<Linear64Options, "learningRate" | "seed">][] = [
    [
      "shallow, log loss",
      { layerSizes: [2, 1], loss: "logistic", method: "sg", sgAt: [1], conditioning: "both" },
    ],
    [
      "deep, MSE, SG everywhere",
      { layerSizes: [2, 3, 3, 3, 1], loss: "mse", method: "sg", sgAt: [1, 2, 3], conditioning: "both" },
    ],
    [
      "deep, MSE, backprop",
      { layerSizes: [2, 3, 3, 3, 1], loss: "mse", method: "backprop", sgAt: [], conditioning: "both" },
    ],
    [
      "deep, log loss, label-only SG in the middle",
      { layerSizes: [2, 3, 3, 1], loss: "logistic", method: "sg", sgAt: [1], conditioning: "label" },
    ],
  ];
  it.each(cases)("%s: the loss curves agree over 100 steps", (_, o) => {
    const d = artificialData("noisy", o.loss, 2, 100, 0, 0);
    const ref = new Linear64Learner({ ...o, learningRate: 1e-2, seed: 4 });
    const net = { layerSizes: o.layerSizes, activation: "linear" as const, batchNorm: false };
    const tfl = new DniLearner({
      net,
      loss: o.loss,
      method: o.method,
      ...(o.method === "sg"
        ? { sgAt: o.sgAt, sg: { form: "linear" as const, conditioning: o.conditioning } }
        : {}),
      learningRate: 1e-2,
      seed: 4,
    });
    const x64 = matrix64(100, 2, d.x);
    const y64 = matrix64(100, 1, d.y);
    const x = tf.tensor2d(Float32Array.from(d.x), [100, 2]);
    const y = tf.tensor2d(Float32Array.from(d.y), [100, 1]);
    let worst = 0;
    for (let s = 0; s < 100; s++) {
      const a = ref.step(x64, y64);
      const b = tfl.step(x, y).loss;
      worst = Math.max(worst, Math.abs(a - b) / Math.max(1e-3, Math.abs(a)));
    }
    expect(worst).toBeLessThan(1e-4);
    tfl.dispose();
    tf.dispose([x, y]);
  });
});
