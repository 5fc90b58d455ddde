import type { Rng } from "@sgprop/gym";
import * as tf from "@tensorflow/tfjs-core";

/** Trainable parameters by canonical name (SPEC 4); insertion order is the order of optimisers and checkpoints. */
export type ParamMap = Map<string, tf.Variable>;
/** Gradients (or any tensors) by canonical parameter name. */
export type TensorMap = Map<string, tf.Tensor>;

/** A model configuration or input that cannot be used; the message shows the offending value. */
export class RecurrentConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RecurrentConfigError";
  }
}

/** Data that does not fit the model (observation width, actions, sequence shapes). */
export class RecurrentInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RecurrentInputError";
  }
}

export function requirePositiveInt(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RecurrentConfigError(`${name} must be a positive integer, got ${String(value)}`);
  }
}

/** Normal draws from the run's seeded generator (float64 draws, stored as float32). */
export function normalTensor(rng: Rng, shape: number[], std: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal(0, std);
  return tf.tensor(data, shape, "float32");
}

/**
 * PyTorch's `orthogonal_` for a [rows, cols] weight: QR of a normal matrix (of the taller
 * orientation) with the signs of R's diagonal folded into Q. Modified Gram-Schmidt on the columns
 * gives the same Q as Householder QR with that sign convention.
 */
export function orthogonalTensor(rng: Rng, rows: number, cols: number, gain = 1): tf.Tensor2D {
  const tall = rows >= cols;
  const m = tall ? rows : cols; // long side
  const n = tall ? cols : rows; // short side
  // Column-major m x n matrix of normal draws.
  const a = new Float64Array(m * n);
  for (let i = 0; i < m * n; i++) a[i] = rng.normal();
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < j; k++) {
      let dot = 0;
      for (let i = 0; i < m; i++) dot += (a[k * m + i] as number) * (a[j * m + i] as number);
      for (let i = 0; i < m; i++) a[j * m + i] = (a[j * m + i] as number) - dot * (a[k * m + i] as number);
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += (a[j * m + i] as number) ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < m; i++) a[j * m + i] = (a[j * m + i] as number) / norm;
  }
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      // tall: Q is rows x cols; wide: the weight is Q^T.
      out[r * cols + c] = gain * (tall ? (a[c * m + r] as number) : (a[r * m + c] as number));
    }
  }
  return tf.tensor2d(out, [rows, cols]);
}

/** Disposes every tensor of a map. */
export function disposeParams(params: ReadonlyMap<string, tf.Tensor>): void {
  for (const t of params.values()) t.dispose();
}

/** Trainable copies of the given tensors (the inputs are not consumed). */
export function toVariables(tensors: ReadonlyMap<string, tf.Tensor>): ParamMap {
  const out: ParamMap = new Map();
  for (const [k, v] of tensors) out.set(k, tf.variable(v, true, undefined, "float32"));
  return out;
}

/** Record view of some entries of a map (for the optimiser and clipping helpers). */
export function pick<T extends tf.Tensor>(
  map: ReadonlyMap<string, T>,
  names: readonly string[],
): Record<string, T> {
  const out: Record<string, T> = {};
  for (const n of names) {
    const t = map.get(n);
    if (t !== undefined) out[n] = t;
  }
  return out;
}

export function getParam(params: ReadonlyMap<string, tf.Tensor>, name: string): tf.Tensor {
  const t = params.get(name);
  if (t === undefined) throw new RecurrentConfigError(`missing parameter "${name}"`);
  return t;
}
