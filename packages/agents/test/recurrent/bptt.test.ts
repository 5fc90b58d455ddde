import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { disposeLossTensors, lossTensors, type SequenceBatch } from "../../src/recurrent/batch.js";
import { sparseNetBptt } from "../../src/recurrent/sparsenetBptt.js";
import { TEST_BACKENDS, useBackend } from "../helpers.js";
import { randomBatch, TINY, tensorData, tinySparseNet } from "./fixtures.js";

const HYPER = { gamma: 0.95, entropyCoef: 0.01 };

function run(
  batch: SequenceBatch,
  seed: number,
  theta: number | undefined,
  mode: "prediction" | "positive_projection" = "prediction",
) {
  const policy = tinySparseNet(seed);
  const lt = lossTensors(batch, TINY.obsDim, TINY.numActions, HYPER);
  const schedule =
    theta === undefined ? undefined : new Float64Array(batch.numSteps * TINY.width).fill(theta);
  const r = sparseNetBptt(policy, batch, lt, {
    entropyCoef: HYPER.entropyCoef,
    record: true,
    ...(schedule !== undefined ? { mixing: { thetaSchedule: schedule, mode } } : {}),
  });
  disposeLossTensors(lt);
  policy.dispose();
  return r;
}

function release(r: ReturnType<typeof run>): void {
  for (const t of r.grads.values()) t.dispose();
  for (const t of r.sgGrads?.values() ?? []) t.dispose();
  const rec = r.record;
  if (rec !== undefined)
    for (const t of [rec.logits, rec.logProbs, rec.entropy, rec.trueGrad, rec.mixedGrad, rec.sgPrediction])
      t?.dispose();
}

describe.each(TEST_BACKENDS)("SG-mixed BPTT on %s", (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });
  let before = 0;
  beforeAll(() => {
    before = tf.memory().numTensors;
  });
  afterAll(() => {
    expect(tf.memory().numTensors).toBe(before);
  });

  it("theta = 1 gives exactly the BPTT gradients, in both modes; theta < 1 does not", async () => {
    const batch = randomBatch(1, 7, 3, TINY.obsDim, TINY.numActions, [6, 3, 5]);
    const plain = run(batch, 11, undefined);
    const want = await tensorData(plain.grads);
    for (const mode of ["prediction", "positive_projection"] as const) {
      const one = run(batch, 11, 1, mode);
      expect(await tensorData(one.grads)).toEqual(want);
      release(one);
    }
    const mixed = run(batch, 11, 0.5);
    const got = await tensorData(mixed.grads);
    expect(got.policyA).not.toEqual(want.policyA);
    expect(got.actorA).toEqual(want.actorA); // the actor sits above every mix
    release(mixed);
    release(plain);
  });

  it("a hidden-state reset mid-sequence cuts gradient flow across the boundary", async () => {
    const T = 6;
    const B = 2;
    const base = randomBatch(2, T, B, TINY.obsDim, TINY.numActions, [5, 5]);
    // Env 0's loss only covers steps 3..5.
    const valid = Uint8Array.from(base.valid as Uint8Array);
    for (let t = 0; t < 3; t++) valid[t * B] = 0;
    const withReset = { ...base, valid, episodeStarts: Uint8Array.from(base.episodeStarts as Uint8Array) };
    (withReset.episodeStarts as Uint8Array)[3 * B] = 1;
    const withoutReset = { ...base, valid };
    const W = TINY.width;
    const q = TINY.neuronDim;
    const env0Before3 = async (b: SequenceBatch) => {
      const r = run(b, 5, 1);
      const g = (await r.record?.trueGrad?.data()) ?? new Float32Array();
      release(r);
      let m = 0;
      for (let t = 0; t < 3; t++)
        for (let k = 0; k < W * q; k++) m = Math.max(m, Math.abs(g[(t * B + 0) * W * q + k] as number));
      return m;
    };
    expect(await env0Before3(withReset)).toBe(0);
    expect(await env0Before3(withoutReset)).toBeGreaterThan(1e-6);
  });
});
