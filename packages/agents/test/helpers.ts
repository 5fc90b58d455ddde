import { Rng } from "@sgprop/gym";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../src/backend.js";

/** Backends every test suite runs on. */
export const TEST_BACKENDS = ["cpu", "wasm"] as const;

/** Switches TensorFlow.js to the named backend (initialising it on first use). */
export async function useBackend(name: (typeof TEST_BACKENDS)[number]): Promise<void> {
  await selectBackend(name);
  if (tf.getBackend() !== name) throw new Error(`backend ${name} not active`);
}

/** Max |a - b| over two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** A seeded bandit batch for a network with `inputDim` contexts and `numActions` actions. */
export function banditBatch(
  seed: number,
  b: number,
  cfg: { readonly inputDim: number; readonly numActions: number },
): { x: tf.Tensor; actions: tf.Tensor; rewards: tf.Tensor } {
  const rng = Rng.fromSeed(seed);
  return {
    x: tf.tensor2d(
      Float32Array.from({ length: b * cfg.inputDim }, () => rng.normal()),
      [b, cfg.inputDim],
    ),
    actions: tf.tensor1d(
      Int32Array.from({ length: b }, () => rng.integer(0, cfg.numActions - 1)),
      "int32",
    ),
    rewards: tf.tensor1d(Float32Array.from({ length: b }, () => (rng.float() < 0.5 ? 1 : 0))),
  };
}
