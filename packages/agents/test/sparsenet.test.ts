import { Rng } from "@sgprop/gym";
import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { banditLoss } from "../src/bandit/loss.js";
import { InvalidConfigError, InvalidInputError } from "../src/feedforward/errors.js";
import { Mlp } from "../src/feedforward/mlp.js";
import { backpropPolicyGradients, sgpropPolicyGradients } from "../src/feedforward/sgprop.js";
import { FeedforwardSparseNet } from "../src/feedforward/sparsenet.js";
import {
  type FeedforwardSparseNetConfig,
  feedforwardPolicyNames,
} from "../src/feedforward/sparsenetConfig.js";
import { slotLayerForward } from "../src/neuron/slotNeuron.js";
import { IndexGather } from "../src/ops/gather.js";
import { setPerNeuronKernel } from "../src/ops/perNeuron.js";
import { banditBatch, maxAbsDiff, TEST_BACKENDS, useBackend } from "./helpers.js";

const CFG: FeedforwardSparseNetConfig = {
  inputDim: 20,
  numLayers: 3,
  width: 6,
  neuronDim: 2,
  numSlots: 2,
  numParents: 2,
  numActions: 3,
  residual: true,
};

function batch(seed: number, b = 5) {
  return banditBatch(seed, b, CFG);
}

const POLICY = {
  mode: "prediction",
  adaptiveTheta: true,
  thetaMomentum: 0.9,
  thetaEps: 1e-6,
  mixActionLayer: false,
  record: false,
} as const;

describe.each(TEST_BACKENDS)("feed-forward SparseNet on %s", (backend) => {
  it("theta = 1 gives gradients identical to backprop (exactly)", async () => {
    await useBackend(backend);
    const net = FeedforwardSparseNet.create(CFG, Rng.fromSeed(1));
    tf.tidy(() => {
      const bt = batch(2);
      const fwd = net.forward(bt.x, true);
      const bp = backpropPolicyGradients(net, fwd, bt);
      const ones = Array.from({ length: CFG.numLayers }, () => tf.ones([CFG.width]));
      for (const mode of ["prediction", "positive_projection"] as const) {
        const sg = sgpropPolicyGradients(net, fwd, bt, ones, { ...POLICY, mode });
        for (const p of feedforwardPolicyNames(CFG.numLayers)) {
          expect(Array.from(sg.grads[p]?.dataSync() ?? []), p).toEqual(
            Array.from(bp.grads[p]?.dataSync() ?? [0]),
          );
        }
      }
    });
    net.dispose();
  });

  it("theta = 0 builds hidden gradients from the predictions alone", async () => {
    await useBackend(backend);
    const net = FeedforwardSparseNet.create(CFG, Rng.fromSeed(3));
    tf.tidy(() => {
      const a = batch(4);
      const zeros = Array.from({ length: CFG.numLayers }, () => tf.zeros([CFG.width]));
      const fwd = net.forward(a.x, true);
      const g1 = sgpropPolicyGradients(net, fwd, a, zeros, { ...POLICY, adaptiveTheta: false });
      // another loss on the same contexts: only the action layer's gradient may change
      const g2 = sgpropPolicyGradients(net, fwd, { ...a, rewards: tf.sub(1, a.rewards) }, zeros, {
        ...POLICY,
        adaptiveTheta: false,
      });
      for (const p of feedforwardPolicyNames(CFG.numLayers).filter((n) => n !== "actionKeys")) {
        expect(maxAbsDiff(g1.grads[p]?.dataSync() ?? [], g2.grads[p]?.dataSync() ?? []), p).toBe(0);
      }
      expect(
        maxAbsDiff(g1.grads.actionKeys?.dataSync() ?? [], g2.grads.actionKeys?.dataSync() ?? []),
      ).toBeGreaterThan(0);
      // and layer l's parameter gradient is the backward pass of its prediction through layer l
      const l = 1;
      const cache = fwd.layers[l];
      if (cache?.sgPred === undefined) throw new Error("no prediction");
      const direct = net.backwardLayer(l, cache, cache.sgPred, true).grads;
      expect(maxAbsDiff(direct?.A.dataSync() ?? [], g1.grads[`hiddenA.${l}`]?.dataSync() ?? [])).toBe(0);
    });
    net.dispose();
  });

  it("the hand-written backward pass equals tfjs autodiff and finite differences", async () => {
    await useBackend(backend);
    const net = FeedforwardSparseNet.create(CFG, Rng.fromSeed(5));
    const bt = batch(6);
    const names = feedforwardPolicyNames(CFG.numLayers);
    // autodiff through an independent forward written with slotLayerForward and tf.gather
    const first = tf.tensor1d(net.connectivity.firstLayerInputIdx, "int32");
    const gathers = [1, 2].map(
      (l) => new IndexGather(net.connectivity.parentIdx.subarray((l - 1) * 12, l * 12), CFG.width),
    );
    const lossOf = (params: Record<string, tf.Tensor>) => {
      const b = bt.x.shape[0] as number;
      let h = slotLayerForward(tf.reshape(tf.gather(bt.x, first, 1), [b, CFG.width, 4]), {
        keys: params["hiddenKeys.0"] as tf.Tensor,
        A: params["hiddenA.0"] as tf.Tensor,
        b: params["hiddenB.0"] as tf.Tensor,
      }).out;
      for (let l = 1; l < CFG.numLayers; l++) {
        const gather = gathers[l - 1] as IndexGather;
        const u = tf.reshape(gather.apply(h, 1), [b, CFG.width, 4]);
        const out = slotLayerForward(u, {
          keys: params[`hiddenKeys.${l}`] as tf.Tensor,
          A: params[`hiddenA.${l}`] as tf.Tensor,
          b: params[`hiddenB.${l}`] as tf.Tensor,
        }).out;
        h = tf.add(tf.tanh(out), h);
      }
      const logits = tf.div(
        tf.matMul(tf.reshape(h, [b, 12]), params.actionKeys as tf.Tensor, false, true),
        Math.sqrt(12),
      );
      return banditLoss(logits, bt.actions, bt.rewards).loss;
    };
    const values = names.map((n) => net.vars[n] as tf.Tensor);
    const auto = tf.grads((...ps: tf.Tensor[]) =>
      lossOf(Object.fromEntries(names.map((n, i) => [n, ps[i] as tf.Tensor]))),
    )(values);
    const manual = tf.tidy(() => backpropPolicyGradients(net, net.forward(bt.x, false), bt).grads);
    names.forEach((n, i) => {
      const a = auto[i]?.dataSync() ?? [];
      const m = manual[n]?.dataSync() ?? [];
      const scale = Math.max(...Array.from(a, Math.abs));
      expect(maxAbsDiff(a, m) / scale, n).toBeLessThan(1e-4);
    });
    // central finite differences in float32 on a few entries of every parameter: h = 1e-2 gives a
    // truncation error ~1e-5 and a rounding error ~1e-5 on a loss of order 1; tolerance 2e-3 abs.
    const rng = Rng.fromSeed(9);
    for (const n of names) {
      const v = net.vars[n] as tf.Variable;
      const data = Float32Array.from(v.dataSync());
      for (let trial = 0; trial < 3; trial++) {
        const k = rng.integer(0, data.length - 1);
        const at = (delta: number) => {
          const d = Float32Array.from(data);
          d[k] = (d[k] as number) + delta;
          v.assign(tf.tensor(d, v.shape));
          return tf.tidy(
            () =>
              banditLoss(
                net.forward(bt.x, false).logits,
                bt.actions,
                bt.rewards,
              ).loss.dataSync()[0] as number,
          );
        };
        const fd = (at(1e-2) - at(-1e-2)) / 2e-2;
        v.assign(tf.tensor(data, v.shape));
        expect(Math.abs(fd - (manual[n]?.dataSync()[k] as number)), `${n}[${k}]`).toBeLessThan(2e-3);
      }
    }
    tf.dispose([...auto, ...Object.values(manual), first, bt.x, bt.actions, bt.rewards]);
    for (const g of gathers) g.dispose();
    net.dispose();
  });

  it("the neuron-major evaluation path equals softmax of the training forward pass", async () => {
    await useBackend(backend);
    for (const residual of [true, false]) {
      const net = FeedforwardSparseNet.create({ ...CFG, residual }, Rng.fromSeed(5));
      const bt = batch(9, 7);
      const before = tf.memory().numTensors;
      // Chunks of 3 over 7 contexts: the last chunk is partial.
      const fast = net.probabilities(bt.x, 3);
      expect(tf.memory().numTensors).toBe(before + 1);
      const ref = tf.tidy(() => tf.softmax(net.forward(bt.x, false).logits, -1));
      expect(fast.shape).toEqual([7, CFG.numActions]);
      expect(maxAbsDiff(fast.dataSync(), ref.dataSync())).toBeLessThan(1e-6);
      // A parameter change must show up: the path reads the current variables on every call.
      const keys = net.vars.actionKeys as tf.Variable;
      keys.assign(tf.mul(keys, 3));
      const after = net.probabilities(bt.x, 3);
      expect(maxAbsDiff(after.dataSync(), fast.dataSync())).toBeGreaterThan(1e-4);
      tf.dispose([fast, ref, after, bt.x, bt.actions, bt.rewards]);
      net.dispose();
    }
  });

  it("rejects bad inputs and impossible configurations", async () => {
    await useBackend(backend);
    expect(() => FeedforwardSparseNet.create({ ...CFG, numParents: 7 }, Rng.fromSeed(1))).toThrow(
      InvalidConfigError,
    );
    expect(() => FeedforwardSparseNet.create({ ...CFG, numParents: 7 }, Rng.fromSeed(1))).toThrow(
      /numParents.*7/,
    );
    expect(() => FeedforwardSparseNet.create({ ...CFG, width: 0 }, Rng.fromSeed(1))).toThrow(/width/);
    expect(() => FeedforwardSparseNet.create({ ...CFG, inputDim: 3 }, Rng.fromSeed(1))).toThrow(/inputDim/);
    expect(() =>
      Mlp.create(
        { inputDim: 4, hiddenWidth: 3, numLayers: 0, numActions: 2, residual: false },
        Rng.fromSeed(1),
      ),
    ).toThrow(/numLayers/);
    const net = FeedforwardSparseNet.create(CFG, Rng.fromSeed(1));
    const wide = tf.zeros([2, 21]);
    const nan = tf.tensor2d(
      Float32Array.from({ length: 40 }, (_, i) => (i === 7 ? Number.NaN : 0)),
      [2, 20],
    );
    expect(() => net.checkInput(wide)).toThrow(InvalidInputError);
    expect(() => net.checkInput(wide)).toThrow(/\[2,21\]/);
    expect(() => net.checkInput(nan)).toThrow(/NaN/);
    tf.dispose([wide, nan]);
    net.dispose();
  });
});

describe("backends agree", () => {
  it("wasm and cpu give the same sgprop gradients and theta to 1e-5", async () => {
    const results: Record<string, Float32Array[]> = {};
    for (const backend of TEST_BACKENDS) {
      await useBackend(backend);
      const net = FeedforwardSparseNet.create(CFG, Rng.fromSeed(11));
      results[backend] = tf.tidy(() => {
        const bt = batch(12, 16);
        const th = Array.from({ length: CFG.numLayers }, () => tf.fill([CFG.width], 0.6));
        const fwd = net.forward(bt.x, true);
        const r = sgpropPolicyGradients(net, fwd, bt, th, POLICY);
        return [
          fwd.logits.dataSync() as Float32Array,
          ...feedforwardPolicyNames(CFG.numLayers).map((n) => r.grads[n]?.dataSync() as Float32Array),
          ...r.theta.map((t) => t.dataSync() as Float32Array),
        ];
      });
      net.dispose();
    }
    const [a, b] = [results.cpu ?? [], results.wasm ?? []];
    expect(a.length).toBe(b.length);
    a.forEach((x, i) => {
      expect(maxAbsDiff(x, b[i] as Float32Array), `entry ${i}`).toBeLessThan(1e-5);
    });
  });
});

describe("evaluation", () => {
  it("the fused SIMD probabilities equal the tfjs path's and follow the current parameters", async () => {
    await useBackend("wasm");
    const net = FeedforwardSparseNet.create(CFG, Rng.fromSeed(8));
    const bt = batch(4, 9);
    try {
      const reference = () => {
        setPerNeuronKernel("depthwise");
        try {
          return net.probabilities(bt.x);
        } finally {
          setPerNeuronKernel(undefined);
        }
      };
      const check = () => {
        const fused = net.probabilities(bt.x);
        const ref = reference();
        expect(maxAbsDiff(fused.dataSync(), ref.dataSync())).toBeLessThan(2e-6);
        const out = fused.dataSync() as Float32Array;
        tf.dispose([fused, ref]);
        return out;
      };
      const first = check();
      const keys = net.vars.actionKeys as tf.Variable;
      keys.assign(tf.mul(keys, 3));
      const second = check();
      expect(maxAbsDiff(first, second)).toBeGreaterThan(1e-4);
    } finally {
      tf.dispose([bt.x, bt.actions, bt.rewards]);
      net.dispose();
    }
  });
});
