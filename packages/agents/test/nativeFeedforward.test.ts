import { Rng } from "@sgprop/gym";
import { kernelRuntime } from "@sgprop/kernels";
import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { Mlp } from "../src/feedforward/mlp.js";
import {
  backpropPolicyGradients,
  sgPhaseGradients,
  sgpropPolicyGradients,
} from "../src/feedforward/sgprop.js";
import { FeedforwardSparseNet } from "../src/feedforward/sparsenet.js";
import type { FeedforwardSparseNetConfig } from "../src/feedforward/sparsenetConfig.js";
import { setPerNeuronKernel } from "../src/ops/perNeuron.js";
import { Adam } from "../src/optim/adam.js";
import { banditBatch, maxAbsDiff, TEST_BACKENDS, useBackend } from "./helpers.js";

/*
 * The kernel paths (SparseNet training passes, MLP layers, Adam) against the tfjs reference
 * implementation on the same inputs, including what the golden files do not pin down:
 * positive-projection mode, non-residual networks, a larger width.
 */

const CFG: FeedforwardSparseNetConfig = {
  inputDim: 90,
  numLayers: 3,
  width: 24,
  neuronDim: 3,
  numSlots: 3,
  numParents: 4,
  numActions: 5,
  residual: true,
};

const batch = banditBatch;

type Outputs = Record<string, Float32Array>;

/** Every output of backprop, the SG phase and the sgprop policy step, as host arrays. */
function allOutputs(
  net: FeedforwardSparseNet,
  cfg: FeedforwardSparseNetConfig,
  mode: "prediction" | "positive_projection",
  size = 13,
): Outputs {
  return tf.tidy(() => {
    const out: Outputs = {};
    const bt = batch(5, size, cfg);
    const theta = Array.from({ length: cfg.numLayers }, (_, l) =>
      tf.tensor1d(
        Float32Array.from({ length: cfg.width }, (_, i) => 0.3 + (0.6 * (((i + l) * 7) % 10)) / 10),
      ),
    );
    const fwd = net.forward(bt.x, true);
    for (let l = 0; l < cfg.numLayers; l++) out[`h${l}`] = fwd.layers[l]?.h.dataSync() as Float32Array;
    const bp = backpropPolicyGradients(net, fwd, bt);
    for (const [k, t] of Object.entries(bp.grads)) out[`bp.${k}`] = t.dataSync() as Float32Array;
    const sg = sgPhaseGradients(net, fwd, bt, theta, { mode, updateSharedKeys: false, record: true });
    out.sgLosses = sg.losses.dataSync() as Float32Array;
    for (const [k, t] of Object.entries(sg.grads)) out[`sg.${k}`] = t.dataSync() as Float32Array;
    for (const [k, t] of Object.entries(sg.recorded)) out[`sgrec.${k}`] = t.dataSync() as Float32Array;
    const pg = sgpropPolicyGradients(net, fwd, bt, theta, {
      mode,
      adaptiveTheta: true,
      thetaMomentum: 0.9,
      thetaEps: 1e-6,
      mixActionLayer: false,
      record: true,
    });
    for (const [k, t] of Object.entries(pg.grads)) out[`pg.${k}`] = t.dataSync() as Float32Array;
    for (const [k, t] of Object.entries(pg.recorded)) out[`pgrec.${k}`] = t.dataSync() as Float32Array;
    pg.theta.forEach((t, l) => {
      out[`theta${l}`] = t.dataSync() as Float32Array;
    });
    out.norms = Float32Array.from([
      pg.trueGradNorm.dataSync()[0] as number,
      pg.syntheticGradNorm.dataSync()[0] as number,
    ]);
    return out;
  });
}

afterEach(() => setPerNeuronKernel(undefined));

describe.each(TEST_BACKENDS)("kernel paths on %s", (backend) => {
  it.each([
    ["prediction", true],
    ["positive_projection", true],
    ["prediction", false],
  ] as const)(
    "SparseNet training passes equal the tfjs implementation (%s, residual %s)",
    async (mode, residual) => {
      await useBackend(backend);
      const cfg = { ...CFG, residual };
      const net = FeedforwardSparseNet.create(cfg, Rng.fromSeed(2));
      const fast = allOutputs(net, cfg, mode);
      setPerNeuronKernel("matmul");
      const reference = allOutputs(net, cfg, mode);
      setPerNeuronKernel(undefined);
      expect(Object.keys(fast).sort()).toEqual(Object.keys(reference).sort());
      expect(Object.keys(fast).length).toBeGreaterThan(40);
      for (const [k, v] of Object.entries(reference)) {
        const scale = Math.max(1, ...Array.from(v, Math.abs));
        expect(maxAbsDiff(fast[k] as Float32Array, v) / scale, k).toBeLessThan(2e-5);
      }
      net.dispose();
    },
  );

  it("MLP forward and backward equal the tfjs implementation", async () => {
    await useBackend(backend);
    const cfg = { inputDim: 30, hiddenWidth: 37, numLayers: 3, numActions: 4, residual: true };
    const net = Mlp.create(cfg, Rng.fromSeed(3));
    const run = () =>
      tf.tidy(() => {
        const rng = Rng.fromSeed(4);
        const x = tf.tensor2d(
          Float32Array.from({ length: 11 * 30 }, () => rng.normal()),
          [11, 30],
        );
        const fwd = net.forward(x);
        const grads = net.backward(
          fwd,
          tf.tensor2d(
            Float32Array.from({ length: 44 }, () => rng.normal()),
            [11, 4],
          ),
        );
        const out: Outputs = { logits: fwd.logits.dataSync() as Float32Array };
        for (const [k, t] of Object.entries(grads)) out[k] = t.dataSync() as Float32Array;
        return out;
      });
    const fast = run();
    setPerNeuronKernel("matmul");
    const reference = run();
    for (const [k, v] of Object.entries(reference))
      expect(maxAbsDiff(fast[k] as Float32Array, v), k).toBeLessThan(1e-5);
    net.dispose();
  });

  it("the kernel Adam gives the tfjs Adam's bits, state included", async () => {
    await useBackend(backend);
    const rng = Rng.fromSeed(6);
    const init = Float32Array.from({ length: 103 }, () => rng.normal());
    const grads = Array.from({ length: 4 }, () => Float32Array.from({ length: 103 }, () => rng.normal()));
    const run = (kernels: boolean) => {
      const p = tf.variable(tf.tensor1d(init));
      const adam = new Adam({ p }, { learningRate: 0.01, kernels });
      for (const g of grads) tf.tidy(() => adam.step({ p: tf.tensor1d(g) }));
      const state = adam.getState();
      const out = [p.dataSync(), state.m.p?.dataSync(), state.v.p?.dataSync()].map((a) =>
        Array.from(a ?? []),
      );
      tf.dispose([p, ...Object.values(state.m), ...Object.values(state.v)]);
      adam.dispose();
      return out;
    };
    const a = run(true);
    expect(a).toEqual(run(false));
    expect(maxAbsDiff(a[0] as number[], init)).toBeGreaterThan(1e-3);
  });
});

describe("kernel paths on random sizes", () => {
  it("equal the tfjs implementation for any layer count, width, slots, parents and batch", async () => {
    await useBackend("cpu");
    fc.assert(
      fc.property(
        fc.record({
          numLayers: fc.integer({ min: 1, max: 3 }),
          width: fc.integer({ min: 2, max: 9 }),
          neuronDim: fc.integer({ min: 1, max: 4 }),
          numSlots: fc.integer({ min: 1, max: 4 }),
          numParents: fc.integer({ min: 1, max: 3 }),
          numActions: fc.integer({ min: 2, max: 4 }),
          residual: fc.boolean(),
          batch: fc.integer({ min: 2, max: 9 }),
          seed: fc.integer({ min: 0, max: 1000 }),
          positive: fc.boolean(),
        }),
        (r) => {
          const numParents = Math.min(r.numParents, r.width);
          const cfg: FeedforwardSparseNetConfig = {
            inputDim: numParents * r.neuronDim + 3,
            numLayers: r.numLayers,
            width: r.width,
            neuronDim: r.neuronDim,
            numSlots: r.numSlots,
            numParents,
            numActions: r.numActions,
            residual: r.residual,
          };
          const net = FeedforwardSparseNet.create(cfg, Rng.fromSeed(r.seed));
          const mode = r.positive ? "positive_projection" : "prediction";
          try {
            const fast = allOutputs(net, cfg, mode, r.batch);
            setPerNeuronKernel("matmul");
            const reference = allOutputs(net, cfg, mode, r.batch);
            setPerNeuronKernel(undefined);
            for (const [k, v] of Object.entries(reference)) {
              const scale = Math.max(1, ...Array.from(v, Math.abs));
              // Eq. 3's theta divides by a batch variance: float32 sums in another order than
              // tfjs's move it by up to ~1e-4 on small random nets (seen once in 7 random sizes).
              const tolerance = k.includes("theta") ? 2e-4 : 5e-5;
              expect(maxAbsDiff(fast[k] as Float32Array, v) / scale, k).toBeLessThan(tolerance);
            }
          } finally {
            setPerNeuronKernel(undefined);
            net.dispose();
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe("evaluation and MLP kernels on random sizes", () => {
  it("SparseNet probabilities and MLP passes equal the tfjs implementation", async () => {
    await useBackend("cpu");
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 2, max: 9 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 11 }),
        fc.integer({ min: 0, max: 1000 }),
        (layers, width, q, slots, residual, n, seed) => {
          const cfg: FeedforwardSparseNetConfig = {
            inputDim: 2 * q + 5,
            numLayers: layers,
            width,
            neuronDim: q,
            numSlots: slots,
            numParents: Math.min(2, width),
            numActions: 3,
            residual,
          };
          const net = FeedforwardSparseNet.create(cfg, Rng.fromSeed(seed));
          const mlp = Mlp.create(
            { inputDim: cfg.inputDim, hiddenWidth: width * q, numLayers: layers, numActions: 3, residual },
            Rng.fromSeed(seed),
          );
          const run = () =>
            tf.tidy(() => {
              const bt = batch(seed, n, cfg);
              const fwd = mlp.forward(bt.x);
              const out: Outputs = {
                probs: net.probabilities(bt.x).dataSync() as Float32Array,
                mlpLogits: fwd.logits.dataSync() as Float32Array,
              };
              const g = mlp.backward(fwd, tf.onesLike(fwd.logits));
              for (const [k, t] of Object.entries(g)) out[k] = t.dataSync() as Float32Array;
              return out;
            });
          try {
            const fast = run();
            setPerNeuronKernel("matmul");
            const reference = run();
            for (const [k, v] of Object.entries(reference)) {
              const scale = Math.max(1, ...Array.from(v, Math.abs));
              expect(maxAbsDiff(fast[k] as Float32Array, v) / scale, k).toBeLessThan(2e-5);
            }
          } finally {
            setPerNeuronKernel(undefined);
            net.dispose();
            mlp.dispose();
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe("kernel memory", () => {
  it("networks and optimisers give their kernel memory back when disposed", async () => {
    await useBackend("wasm");
    const rt = kernelRuntime();
    const before = rt.transientBase();
    for (let i = 0; i < 3; i++) {
      const net = FeedforwardSparseNet.create(CFG, Rng.fromSeed(i));
      const adam = new Adam(net.policyVars(), { learningRate: 1e-3 });
      tf.tidy(() => {
        const bt = batch(i, 6, CFG);
        const fwd = net.forward(bt.x, false);
        adam.step(backpropPolicyGradients(net, fwd, bt).grads);
      });
      expect(rt.transientBase()).toBeGreaterThan(before);
      adam.dispose();
      net.dispose();
    }
    expect(rt.transientBase()).toBe(before);
  });
});
