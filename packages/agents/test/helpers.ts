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
