import * as tf from "@tensorflow/tfjs-core";

/**
 * Host copies of tensors that the SIMD kernels read, remembered for as long as the tensor still
 * holds the same data. A variable's `assign` gives it a new data id, so a stale copy is never
 * returned; on wasm a `dataSync` is a copy out of the backend's memory (about 1 ms per million
 * floats plus garbage), which the training step would otherwise pay for every parameter and
 * gradient, every step.
 */
const mirrors = new WeakMap<tf.Tensor, { dataId: object; data: Float32Array }>();

/** The tensor's values (float32), from the remembered copy when it is still current. */
export function hostData(t: tf.Tensor): Float32Array {
  const m = mirrors.get(t);
  if (m !== undefined && m.dataId === t.dataId) return m.data;
  const data = t.dataSync() as Float32Array;
  mirrors.set(t, { dataId: t.dataId, data });
  return data;
}

/**
 * Records `data` as the current values of `t` (right after creating or assigning it from
 * `data`); the caller must not modify `data` afterwards.
 */
export function rememberHostData(t: tf.Tensor, data: Float32Array): void {
  mirrors.set(t, { dataId: t.dataId, data });
}

/** A tensor of host data, with that data remembered as its host copy (see {@link hostData}). */
export function mirroredTensor(data: Float32Array, shape: number[]): tf.Tensor {
  const t = tf.tensor(data, shape);
  rememberHostData(t, data);
  return t;
}
