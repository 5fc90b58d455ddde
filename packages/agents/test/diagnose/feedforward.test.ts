import { Rng } from "@sgprop/gym";
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, describe, expect, it } from "vitest";
import { banditLoss } from "../../src/bandit/loss.js";
import { estimatorError } from "../../src/diagnose/estimatorErrors.js";
import { feedforwardDiagnosisMoments } from "../../src/diagnose/feedforward.js";
import { PoolMomentAccumulator, type PoolMoments } from "../../src/diagnose/poolMoments.js";
import { DIAGNOSIS_KINDS } from "../../src/diagnose/types.js";
import { sgpropPolicyGradients } from "../../src/feedforward/sgprop.js";
import { FeedforwardSparseNet } from "../../src/feedforward/sparsenet.js";
import type { FeedforwardSparseNetConfig } from "../../src/feedforward/sparsenetConfig.js";
import type { FeedforwardLayerCache } from "../../src/feedforward/sparsenetTrace.js";
import { setPerNeuronKernel } from "../../src/ops/perNeuron.js";
import { mixWithSubstitute, type SgMode, sgSubstitute } from "../../src/sgprop/mixing.js";
import { useBackend } from "../helpers.js";
import { SyntheticBandit } from "../support/syntheticBandit.js";

const TRAINER_BATCH = 4;

const CFG: FeedforwardSparseNetConfig = {
  inputDim: 12,
  numLayers: 3,
  width: 4,
  neuronDim: 2,
  numSlots: 3,
  numParents: 2,
  numActions: 3,
  residual: true,
};

function streams(seed: number) {
  return {
    contexts: Rng.derive(seed, "test/diagnose/contexts"),
    actions: Rng.derive(seed, "test/diagnose/actions"),
    rewardNoise: Rng.derive(seed, "test/diagnose/reward-noise"),
  };
}

/** One unit's vector [keys | A | b] of neuron i from a layer's gradients. */
function unitVector(g: { keys: tf.Tensor; A: tf.Tensor; b: tf.Tensor }, i: number): Float64Array {
  const parts = [g.keys, g.A, g.b].map((t) => {
    const d = t.dataSync();
    const per = d.length / CFG.width;
    return Array.from(d.subarray(i * per, (i + 1) * per));
  });
  return Float64Array.from(parts.flat());
}

/** Per-neuron unit vectors of g * (1 - tanh^2) (eq. 3's normalisation), as a tensor [1, W, q]. */
function unitOf(g: tf.Tensor, cache: FeedforwardLayerCache): tf.Tensor {
  return tf.tidy(() => {
    const s = cache.tanhOut ? tf.mul(g, tf.sub(1, tf.square(cache.tanhOut))) : g;
    return tf.div(s, tf.maximum(tf.sqrt(tf.sum(tf.square(s), -1, true)), 1e-12));
  });
}

/**
 * Explicit per-sample gradients through the tfjs reference path (batch of one), per kind, per
 * unit, in both spaces: the definition the factored moments must reproduce.
 */
function explicitMoments(
  net: FeedforwardSparseNet,
  samples: { x: Float32Array; action: number; reward: number }[],
  theta: Float32Array[],
  mode: SgMode,
): { raw: PoolMoments; normalised: PoolMoments } {
  const size = CFG.numSlots * net.nd + CFG.numSlots * CFG.neuronDim * (net.nd + 1);
  const sizes = new Array(CFG.numLayers * CFG.width).fill(size);
  const raw = new PoolMomentAccumulator(DIAGNOSIS_KINDS, sizes);
  const normalised = new PoolMomentAccumulator(DIAGNOSIS_KINDS, sizes);
  // The trainer's units: the gradient of its batch loss at batch B for this sample, mixed with
  // the predictions as they are; each raw per-sample vector is then B times the induced gradient.
  const B = TRAINER_BATCH;
  setPerNeuronKernel("matmul");
  for (const s of samples) {
    tf.tidy(() => {
      const fwd = net.forward(tf.tensor2d(s.x, [1, CFG.inputDim]), true);
      const { dlogits } = banditLoss(fwd.logits, tf.tensor1d([s.action], "int32"), tf.tensor1d([s.reward]));
      const last = fwd.layers[CFG.numLayers - 1] as FeedforwardLayerCache;
      const top = tf.div(net.backwardAction(last.h, dlogits, false).dh, B);
      const vecs = [0, 1].map(() => DIAGNOSIS_KINDS.map(() => new Array<Float64Array>(sizes.length)));
      const record = (space: number, kind: number, l: number, g: tf.Tensor, cache: FeedforwardLayerCache) => {
        const c = space === 0 ? cache : { ...cache, tanhOut: undefined };
        const grads = net.backwardLayer(
          l,
          c as FeedforwardLayerCache,
          space === 0 ? tf.mul(g, B) : unitOf(g, cache),
          true,
        ).grads as NonNullable<ReturnType<FeedforwardSparseNet["backwardLayer"]>["grads"]>;
        for (let i = 0; i < CFG.width; i++)
          (vecs[space] as Float64Array[][])[kind]![l * CFG.width + i] = unitVector(grads, i);
      };
      let g = top;
      for (let l = CFG.numLayers - 1; l >= 0; l--) {
        const cache = fwd.layers[l] as FeedforwardLayerCache;
        for (const space of [0, 1]) record(space, 0, l, g, cache);
        g = net.backwardLayer(l, cache, g, false).dhPrev ?? g;
      }
      g = top;
      for (let l = CFG.numLayers - 1; l >= 0; l--) {
        const cache = fwd.layers[l] as FeedforwardLayerCache;
        const sub = sgSubstitute(g, cache.sgPred as tf.Tensor, mode);
        for (const space of [0, 1]) {
          record(space, 1, l, g, cache);
          record(space, 2, l, sub, cache);
        }
        const mixed = mixWithSubstitute(g, sub, tf.tensor1d(theta[l] as Float32Array));
        g = net.backwardLayer(l, cache, mixed, false).dhPrev ?? g;
      }
      raw.add(vecs[0] as Float64Array[][]);
      normalised.add(vecs[1] as Float64Array[][]);
    });
  }
  setPerNeuronKernel(undefined);
  return { raw: raw.moments(), normalised: normalised.moments() };
}

function expectClose(a: Float64Array, b: Float64Array, what: string): void {
  const scale = Math.max(...Array.from(b, Math.abs));
  expect(scale, what).toBeGreaterThan(0);
  for (let i = 0; i < a.length; i++)
    expect(Math.abs((a[i] as number) - (b[i] as number)) / scale, `${what}[${i}]`).toBeLessThan(2e-4);
}

afterEach(() => setPerNeuronKernel(undefined));

describe("feed-forward diagnosis moments", () => {
  it.each(["prediction", "positive_projection"] as const)(
    "the factored moments equal those of explicit per-sample gradients (%s)",
    async (mode) => {
      await useBackend("wasm");
      const net = FeedforwardSparseNet.create(CFG, Rng.fromSeed(5));
      // SG parameters far from zero so that the synthetic kind is not trivial.
      const thetaRng = Rng.fromSeed(6);
      const theta = Array.from({ length: CFG.numLayers }, () =>
        Float32Array.from({ length: CFG.width }, () => thetaRng.float()),
      );
      const bandit = new SyntheticBandit({ seed: 1, pFlip: 0.3, numActions: 3, contextSize: 12 });
      const samples: { x: Float32Array; action: number; reward: number }[] = [];
      const m = feedforwardDiagnosisMoments(net, {
        bandit,
        streams: streams(3),
        pool: 23,
        chunk: 10,
        theta,
        sgMode: mode,
        trainerBatch: TRAINER_BATCH,
        onSamples: (x, actions, rewards) => {
          for (let s = 0; s < actions.length; s++)
            samples.push({
              x: x.slice(s * 12, (s + 1) * 12),
              action: actions[s] as number,
              reward: rewards[s] as number,
            });
        },
      });
      expect(samples).toHaveLength(23);
      expect(samples.some((s) => s.reward !== 0)).toBe(true);
      const ref = explicitMoments(net, samples, theta, mode);
      for (const space of ["raw", "normalised"] as const) {
        expect(m[space].samples).toBe(23);
        expectClose(m[space].sumInner, ref[space].sumInner, `${space} sumInner`);
        expectClose(m[space].innerOfSums, ref[space].innerOfSums, `${space} innerOfSums`);
      }
      // The kinds really differ (theta < 1 upstream, s != g): the comparison is not vacuous.
      const k = m.raw.units;
      expect(Math.abs((m.raw.sumInner[4 * k] as number) - (m.raw.sumInner[8 * k] as number))).toBeGreaterThan(
        0,
      );
      net.dispose();
    },
  );

  it("the current-theta estimator at the trainer's batch is the gradient the trainer applies", async () => {
    await useBackend("wasm");
    const net = FeedforwardSparseNet.create(CFG, Rng.fromSeed(8));
    const thetaRng = Rng.fromSeed(9);
    const theta = Array.from({ length: CFG.numLayers }, () =>
      Float32Array.from({ length: CFG.width }, () => thetaRng.float()),
    );
    const bandit = new SyntheticBandit({ seed: 3, pFlip: 0.3, numActions: 3, contextSize: 12 });
    const x: number[] = [];
    const actions: number[] = [];
    const rewards: number[] = [];
    const m = feedforwardDiagnosisMoments(net, {
      bandit,
      streams: streams(5),
      pool: TRAINER_BATCH,
      theta,
      sgMode: "prediction",
      trainerBatch: TRAINER_BATCH,
      onSamples: (c, a, r) => {
        x.push(...c);
        actions.push(...a);
        rewards.push(...r);
      },
    });
    tf.tidy(() => {
      const batch = {
        x: tf.tensor2d(x, [TRAINER_BATCH, CFG.inputDim]),
        actions: tf.tensor1d(actions, "int32"),
        rewards: tf.tensor1d(rewards),
      };
      const opts = { mode: "prediction", adaptiveTheta: false, thetaMomentum: 0.9, thetaEps: 1e-6 } as const;
      const pg = sgpropPolicyGradients(
        net,
        net.forward(batch.x, true),
        batch,
        theta.map((t) => tf.tensor1d(t)),
        {
          ...opts,
          mixActionLayer: false,
          record: false,
        },
      );
      const units = m.raw.units;
      for (let u = 0; u < units; u++) {
        const l = Math.floor(u / CFG.width);
        const i = u % CFG.width;
        const g = unitVector(
          {
            keys: pg.grads[`hiddenKeys.${l}`],
            A: pg.grads[`hiddenA.${l}`],
            b: pg.grads[`hiddenB.${l}`],
          } as never,
          i,
        );
        const th = theta[l]?.[i] as number;
        const c = [0, th, 1 - th];
        let quad = 0;
        for (let a = 0; a < 3; a++)
          for (let b = 0; b < 3; b++)
            quad +=
              (c[a] as number) * (c[b] as number) * (m.raw.innerOfSums[(a * 3 + b) * units + u] as number);
        const applied = g.reduce((s, v) => s + v * v, 0);
        expect(Math.abs(quad / TRAINER_BATCH ** 2 - applied), `unit ${u}`).toBeLessThan(
          1e-4 * applied + 1e-12,
        );
      }
    });
    net.dispose();
  });

  it("with theta = 1 everywhere, the backprop and current-theta rows coincide", async () => {
    await useBackend("wasm");
    const net = FeedforwardSparseNet.create(CFG, Rng.fromSeed(7));
    const bandit = new SyntheticBandit({ seed: 2, pFlip: 0.4, numActions: 3, contextSize: 12 });
    const run = (value: number) =>
      feedforwardDiagnosisMoments(net, {
        bandit,
        streams: streams(4),
        pool: 40,
        theta: Array.from({ length: CFG.numLayers }, () => new Float32Array(CFG.width).fill(value)),
        sgMode: "prediction",
        trainerBatch: 8,
      });
    const target = { kind: "pool", coefficients: [1, 0, 0] } as const;
    const one = run(1);
    const bp = estimatorError(one.raw, [1, 0, 0], 8, target);
    const current = estimatorError(one.raw, one.current, 8, target);
    expect(Math.max(...bp.mse)).toBeGreaterThan(0);
    for (let i = 0; i < bp.mse.length; i++) {
      expect(current.mse[i]).toBeCloseTo(bp.mse[i] as number, 12);
      expect(current.bias2[i]).toBe(0);
    }
    // At theta = 0.5 the layers below the top receive mixed gradients: the rows differ.
    const half = run(0.5);
    const e = estimatorError(half.raw, half.current, 8, target);
    const b2 = estimatorError(half.raw, [1, 0, 0], 8, target);
    expect(Math.max(...e.mse.map((x, i) => Math.abs(x - (b2.mse[i] as number))))).toBeGreaterThan(1e-6);
    net.dispose();
  });
});
