import { Rng } from "@sgprop/gym";
import type * as tf from "@tensorflow/tfjs-core";
import type { SequenceBatch } from "../../src/recurrent/batch.js";
import { normalTensor } from "../../src/recurrent/params.js";
import { SparseNetPolicy } from "../../src/recurrent/sparsenet.js";
import type { SparseNetConfig } from "../../src/recurrent/sparsenetConfig.js";

export const TINY: SparseNetConfig = {
  obsDim: 5,
  numActions: 3,
  width: 6,
  neuronDim: 2,
  numParents: 2,
  numSlots: 2,
  numInputNeurons: 2,
  embedHidden: 4,
  embedDim: 3,
  actorSlots: 2,
};

/** A tiny SparseNet with random (nonzero) SG predictors, so that mixing changes gradients. */
export function tinySparseNet(seed: number, config: SparseNetConfig = TINY): SparseNetPolicy {
  const rng = Rng.fromSeed(seed);
  const policy = SparseNetPolicy.create(config, rng);
  for (const name of ["sgA", "sgB"]) {
    const v = policy.params.get(name) as tf.Variable;
    const t = normalTensor(rng, v.shape, 0.5);
    v.assign(t);
    t.dispose();
  }
  return policy;
}

/**
 * A random batch: T steps, B envs, every env starts at t = 0, env b finishes at step `ends[b]`
 * (valid before, done there), rewards random.
 */
export function randomBatch(
  seed: number,
  T: number,
  B: number,
  obsDim: number,
  numActions: number,
  ends: number[],
): SequenceBatch {
  const rng = Rng.fromSeed(seed);
  const n = T * B;
  const obs = new Float32Array(n * obsDim);
  for (let i = 0; i < obs.length; i++) obs[i] = rng.float() < 0.3 ? 1 : 0;
  const starts = new Uint8Array(n);
  const valid = new Uint8Array(n);
  const dones = new Uint8Array(n);
  const rewards = new Float32Array(n);
  const actions = new Int32Array(n);
  for (let b = 0; b < B; b++) {
    starts[b] = 1;
    const end = ends[b] ?? T - 1;
    for (let t = 0; t <= Math.min(end, T - 1); t++) {
      valid[t * B + b] = 1;
      rewards[t * B + b] = rng.normal();
    }
    if (end < T) dones[end * B + b] = 1;
  }
  for (let k = 0; k < n; k++) actions[k] = rng.integer(0, numActions - 1);
  return { numSteps: T, numEnvs: B, obs, episodeStarts: starts, actions, rewards, dones, valid };
}

export async function tensorData(map: ReadonlyMap<string, tf.Tensor>): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [k, v] of map) out[k] = Array.from(await v.data());
  return out;
}
