import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "@sgprop/gym";
import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { BackendUnavailableError, selectBackend } from "../src/backend.js";
import {
  decodeSafetensors,
  encodeSafetensors,
  readCheckpointDir,
  writeCheckpointDir,
} from "../src/checkpoint.js";
import { IndexGather } from "../src/ops/gather.js";
import { Adam } from "../src/optim/adam.js";
import { clipByGlobalNorm } from "../src/optim/clip.js";
import { mixGradient } from "../src/sgprop/mixing.js";
import { maxAbsDiff, TEST_BACKENDS, useBackend } from "./helpers.js";

function randomArray(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

describe("backend selection", () => {
  it("names an unavailable tensorflow backend with a clear error", async () => {
    await expect(selectBackend("tensorflow")).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(selectBackend("tensorflow")).rejects.toThrow(/tfjs-node/);
  });
  it("rejects unknown names from SGPROP_BACKEND", async () => {
    const old = process.env.SGPROP_BACKEND;
    process.env.SGPROP_BACKEND = "webgpu";
    try {
      await expect(selectBackend()).rejects.toThrow(/unknown backend name/);
    } finally {
      if (old === undefined) delete process.env.SGPROP_BACKEND;
      else process.env.SGPROP_BACKEND = old;
    }
  });
  it("falls back to wasm when no native backend is installed", async () => {
    const old = process.env.SGPROP_BACKEND;
    delete process.env.SGPROP_BACKEND;
    try {
      expect(await selectBackend()).toBe("wasm");
    } finally {
      if (old !== undefined) process.env.SGPROP_BACKEND = old;
    }
  });
});

describe.each(TEST_BACKENDS)("shared ops on %s", (backend) => {
  it("Adam matches the PyTorch update written out by hand", async () => {
    await useBackend(backend);
    const rng = Rng.fromSeed(1);
    const p0 = randomArray(rng, 6);
    const grads = [randomArray(rng, 6), randomArray(rng, 6), randomArray(rng, 6)];
    const p = tf.variable(tf.tensor1d(p0));
    const adam = new Adam({ p }, { learningRate: 0.01 });
    const ref = Float64Array.from(p0);
    const m = new Float64Array(6);
    const v = new Float64Array(6);
    grads.forEach((g, k) => {
      const gt = tf.tensor1d(g);
      adam.step({ p: gt });
      gt.dispose();
      for (let i = 0; i < 6; i++) {
        const gi = g[i] as number;
        m[i] = 0.9 * (m[i] as number) + 0.1 * gi;
        v[i] = 0.999 * (v[i] as number) + 0.001 * gi * gi;
        const denom = Math.sqrt(v[i] as number) / Math.sqrt(1 - 0.999 ** (k + 1)) + 1e-8;
        ref[i] = (ref[i] as number) - (0.01 / (1 - 0.9 ** (k + 1))) * ((m[i] as number) / denom);
      }
    });
    expect(maxAbsDiff(p.dataSync(), ref)).toBeLessThan(1e-6);
    // state round trip: a fresh optimiser continues identically
    const state = adam.getState();
    const q = tf.variable(tf.clone(p));
    const adam2 = new Adam({ p: q }, { learningRate: 0.01 });
    adam2.setState(state);
    const g = tf.tensor1d(randomArray(rng, 6));
    adam.step({ p: g });
    adam2.step({ p: g });
    expect(Array.from(q.dataSync())).toEqual(Array.from(p.dataSync()));
    tf.dispose([g, p, q, ...Object.values(state.m), ...Object.values(state.v)]);
    adam.dispose();
    adam2.dispose();
  });

  it("clips by global norm with norm + 1e-6 and reports the norm", async () => {
    await useBackend(backend);
    const a = tf.tensor1d([3, 0]);
    const b = tf.tensor1d([4]);
    const { grads, norm } = clipByGlobalNorm({ a, b }, 0.5);
    expect(norm).toBeCloseTo(5, 5);
    expect(grads.a.dataSync()[0]).toBeCloseTo((3 * 0.5) / (5 + 1e-6), 6);
    const none = clipByGlobalNorm({ a, b }, 10);
    expect(Array.from(none.grads.a.dataSync())).toEqual([3, 0]);
    tf.dispose([a, b, ...Object.values(grads), ...Object.values(none.grads)]);
  });

  it("IndexGather has the gradient of gather (sums repeated indices)", async () => {
    await useBackend(backend);
    const before = tf.memory().numTensors;
    const g = new IndexGather([2, 0, 2, 1, 2], 4);
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]);
    const w = tf.tensor2d([1, 10, 100, 1000, 10000, 2, 20, 200, 2000, 20000], [2, 5]);
    const grad = tf.grad((xs: tf.Tensor) => tf.sum(tf.mul(g.apply(xs, 1), w)))(x);
    expect(Array.from(grad.dataSync())).toEqual([10, 1000, 10101, 0, 20, 2000, 20202, 0]);
    const y = g.apply(x, 1);
    expect(Array.from(y.dataSync())).toEqual([3, 1, 3, 2, 3, 7, 5, 7, 6, 7]);
    tf.dispose([x, w, grad, y]);
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("mixing with theta = 1 returns g bit for bit, theta = 0 the substitute", async () => {
    await useBackend(backend);
    const rng = Rng.fromSeed(3);
    const g = tf.tensor3d(randomArray(rng, 24), [2, 4, 3]);
    const h = tf.tensor3d(randomArray(rng, 24), [2, 4, 3]);
    const one = tf.ones([4]);
    const zero = tf.zeros([4]);
    expect(Array.from(mixGradient(g, h, one, "prediction").dataSync())).toEqual(Array.from(g.dataSync()));
    expect(Array.from(mixGradient(g, h, one, "positive_projection").dataSync())).toEqual(
      Array.from(g.dataSync()),
    );
    expect(Array.from(mixGradient(g, h, zero, "prediction").dataSync())).toEqual(Array.from(h.dataSync()));
    const proj = mixGradient(g, h, zero, "positive_projection").arraySync() as number[][][];
    const ga = g.arraySync() as number[][][];
    const ha = h.arraySync() as number[][][];
    for (let n = 0; n < 2; n++)
      for (let i = 0; i < 4; i++) {
        const gv = ga[n]?.[i] as number[];
        const hv = ha[n]?.[i] as number[];
        const dot = gv.reduce((s, x, j) => s + x * (hv[j] as number), 0);
        const sq = hv.reduce((s, x) => s + x * x, 0);
        const expected = hv.map((x) => (Math.max(dot, 0) / sq) * x);
        expect(maxAbsDiff(proj[n]?.[i] as number[], expected)).toBeLessThan(1e-6);
      }
    tf.dispose([g, h, one, zero]);
  });
});

describe("safetensors checkpoints", () => {
  it("round-trips tensors and metadata, atomically replacing the folder", async () => {
    const tensors = {
      "hiddenA.0": { dtype: "F32" as const, shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) },
      parentIdx: { dtype: "I32" as const, shape: [3], data: Int32Array.from([2, 0, 1]) },
    };
    const bytes = encodeSafetensors(tensors, { note: "x" });
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLen) % 8).toBe(0);
    const back = decodeSafetensors(bytes);
    expect(back.metadata.note).toBe("x");
    expect(Array.from(back.tensors["hiddenA.0"]?.data ?? [])).toEqual([1, 2, 3, 4, 5, 6.5]);
    expect(back.tensors.parentIdx?.shape).toEqual([3]);
    const root = await mkdtemp(join(tmpdir(), "sgprop-ckpt-"));
    const dir = join(root, "ckpt");
    await writeCheckpointDir(dir, tensors, { step: 1 });
    await writeCheckpointDir(dir, tensors, { step: 2 });
    const read = await readCheckpointDir(dir);
    expect(read.meta).toEqual({ step: 2 });
    expect(await readdir(root)).toEqual(["ckpt"]);
  });
});
