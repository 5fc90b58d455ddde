import { Rng } from "@sgprop/gym";
import { disposeKernelThreads, onOneThread, simdForwardHidden, withKernelHelper } from "@sgprop/kernels";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, describe, expect, it } from "vitest";
import { FeedforwardSparseNet } from "../src/feedforward/sparsenet.js";
import type { FeedforwardSparseNetConfig } from "../src/feedforward/sparsenetConfig.js";
import { maxAbsDiff, useBackend } from "./helpers.js";

// The kernels themselves are tested in @sgprop/kernels (float64 loops, one vs two threads); this
// checks the fused forward kernel against the model it serves.

function randomArray(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

afterAll(() => disposeKernelThreads());

describe("fused SIMD forward of the feed-forward SparseNet", () => {
  const cfg: FeedforwardSparseNetConfig = {
    inputDim: 60,
    numLayers: 3,
    width: 12,
    neuronDim: 3,
    numSlots: 3,
    numParents: 2,
    numActions: 4,
    residual: true,
  };

  it("equals the tfjs forward pass and does not depend on the number of threads", async () => {
    await useBackend("cpu");
    for (const residual of [true, false]) {
      const net = FeedforwardSparseNet.create({ ...cfg, residual }, Rng.fromSeed(3));
      const rng = Rng.fromSeed(4);
      const n = 37; // not a multiple of the 4-sample blocks
      const xd = randomArray(rng, n * cfg.inputDim);
      const x = tf.tensor2d(xd, [n, cfg.inputDim]);
      const ref = tf.tidy(() => net.forward(x, false).layers[cfg.numLayers - 1]?.h.dataSync());
      const read = (p: string) =>
        Array.from({ length: cfg.numLayers }, (_, l) => net.vars[`${p}.${l}`]?.dataSync() as Float32Array);
      const host = {
        ...net.config,
        firstLayerInputIdx: net.connectivity.firstLayerInputIdx,
        parentIdx: net.connectivity.parentIdx,
        keys: read("hiddenKeys"),
        maps: read("hiddenA"),
        biases: read("hiddenB"),
      };
      const single = onOneThread(() => simdForwardHidden(host, xd, n));
      expect(maxAbsDiff(single, ref as Float32Array)).toBeLessThan(2e-6);
      // A wrong layer, routing or residual would be off by far more than rounding.
      expect(maxAbsDiff(single, new Float32Array(single.length))).toBeGreaterThan(0.1);
      const big = randomArray(rng, 400 * cfg.inputDim);
      const probe = () => simdForwardHidden(host, big, 400);
      const bigSingle = onOneThread(probe);
      expect(await withKernelHelper(probe)).toEqual(bigSingle);
      x.dispose();
      net.dispose();
    }
  });
});
