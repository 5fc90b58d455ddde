import { selectBackend } from "@sgprop/agents";
import { Rng } from "@sgprop/gym";
import * as tf from "@tensorflow/tfjs-core";

/** Tests run on the cpu backend: deterministic, and what the bit-for-bit checks are stated for. */
export async function useCpu(): Promise<void> {
  await selectBackend("cpu");
}

/** A seeded normal matrix [rows, cols] as a float32 tensor. */
export function randomMatrix(
  seed: number,
  purpose: string,
  rows: number,
  cols: number,
  scale = 1,
): tf.Tensor2D {
  const rng = Rng.derive(seed, purpose);
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() * scale;
  return tf.tensor2d(data, [rows, cols]);
}
