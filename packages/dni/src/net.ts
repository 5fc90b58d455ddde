import { Rng } from "@sgprop/gym";
import * as tf from "@tensorflow/tfjs-core";
import { DniOptionError } from "./errors.js";
import { DNI_STREAMS } from "./streams.js";

export type Activation = "linear" | "relu" | "sigmoid" | "tanh";
export const ACTIVATIONS: readonly Activation[] = ["linear", "relu", "sigmoid", "tanh"];

/** A feed-forward net: `layerSizes[0]` inputs, dense blocks, `layerSizes.at(-1)` linear outputs. */
export interface NetSpec {
  /** [input, hidden..., output]; at least two entries. */
  readonly layerSizes: readonly number[];
  /** Non-linearity of every hidden block (the output block is always linear). */
  readonly activation: Activation;
  /** Batch normalisation between each hidden block's affine map and its activation (Fig. 4). */
  readonly batchNorm: boolean;
}

/** One block's trainable tensors; BN's scale and shift only when batch normalisation is on. */
export interface BlockParams {
  readonly w: tf.Tensor2D;
  readonly b: tf.Tensor1D;
  readonly gamma?: tf.Tensor1D;
  readonly beta?: tf.Tensor1D;
}

export function checkNetSpec(spec: NetSpec): void {
  const sizes = spec.layerSizes;
  if (sizes.length < 2 || sizes.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new DniOptionError("layerSizes", sizes, "at least two positive integers [input, ..., output]");
  }
  if (!ACTIVATIONS.includes(spec.activation)) {
    throw new DniOptionError("activation", spec.activation, `one of ${ACTIVATIONS.join(", ")}`);
  }
}

/** Number of blocks (affine maps) of the net. */
export function blockCount(spec: NetSpec): number {
  return spec.layerSizes.length - 1;
}

export function isHidden(spec: NetSpec, block: number): boolean {
  return block < blockCount(spec) - 1;
}

/**
 * Glorot-uniform weights from the "dni/init" stream, drawn block by block in order, so a net's
 * initial weights depend only on (seed, layer sizes). Plain arrays: the float64 learner starts from
 * the same float32 values without TensorFlow.js.
 */
export function initialWeights(
  spec: NetSpec,
  seed: number,
): { w: Float32Array; rows: number; cols: number }[] {
  checkNetSpec(spec);
  const rng = Rng.derive(seed, DNI_STREAMS.init);
  const out: { w: Float32Array; rows: number; cols: number }[] = [];
  for (let i = 0; i < blockCount(spec); i++) {
    const fanIn = spec.layerSizes[i] as number;
    const fanOut = spec.layerSizes[i + 1] as number;
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const w = new Float32Array(fanIn * fanOut);
    for (let j = 0; j < w.length; j++) w[j] = (2 * rng.float() - 1) * limit;
    out.push({ w, rows: fanIn, cols: fanOut });
  }
  return out;
}

/** {@link initialWeights} as tensors, with zero biases (and BN's gamma = 1, beta = 0). */
export function initialParams(spec: NetSpec, seed: number): BlockParams[] {
  return initialWeights(spec, seed).map(({ w, rows, cols }, i) => {
    const bn = spec.batchNorm && isHidden(spec, i);
    return {
      w: tf.tensor2d(w, [rows, cols]),
      b: tf.zeros([cols]),
      ...(bn ? { gamma: tf.ones([cols]) as tf.Tensor1D, beta: tf.zeros([cols]) as tf.Tensor1D } : {}),
    };
  });
}

/** The tensors of a block in a fixed order (the order of gradients and optimiser slots). */
export function blockTensors(p: BlockParams): tf.Tensor[] {
  return p.gamma !== undefined && p.beta !== undefined ? [p.w, p.b, p.gamma, p.beta] : [p.w, p.b];
}

export function blockFromTensors(ts: readonly tf.Tensor[]): BlockParams {
  const [w, b, gamma, beta] = ts;
  return {
    w: w as tf.Tensor2D,
    b: b as tf.Tensor1D,
    ...(gamma !== undefined && beta !== undefined
      ? { gamma: gamma as tf.Tensor1D, beta: beta as tf.Tensor1D }
      : {}),
  };
}

export function activate(a: tf.Tensor2D, activation: Activation): tf.Tensor2D {
  switch (activation) {
    case "linear":
      return a;
    case "relu":
      return tf.relu(a);
    case "sigmoid":
      return tf.sigmoid(a);
    case "tanh":
      return tf.tanh(a);
  }
}

/** x W, whose gradient with respect to x uses the fixed feedback matrix `feedback` instead of W. */
const feedbackMatMul = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, feedback, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([x, feedback]);
  return {
    value: tf.matMul(x, w),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sf] = saved as [tf.Tensor2D, tf.Tensor2D];
      const g = dy as tf.Tensor2D;
      return [tf.matMul(g, sf, false, true), tf.matMul(sx, g, true, false), tf.zerosLike(sf)];
    },
  };
}) as (x: tf.Tensor2D, w: tf.Tensor2D, feedback: tf.Tensor2D) => tf.Tensor2D;

/** Batch-norm epsilon (Ioffe & Szegedy's value). */
export const BN_EPSILON = 1e-5;

export interface BlockForwardOptions {
  /** Feedback alignment: the backward pass of x W uses this fixed matrix (same shape as W). */
  readonly feedback?: tf.Tensor2D | undefined;
  /** Running statistics to normalise with (evaluation) instead of the batch's own (training). */
  readonly runningStats?: { readonly mean: tf.Tensor1D; readonly variance: tf.Tensor1D } | undefined;
}

/** The pre-activation statistics a training forward pass saw, for the running averages. */
export interface BatchStats {
  readonly mean: tf.Tensor1D;
  readonly variance: tf.Tensor1D;
}

/** One block: affine map, then (hidden blocks) optional batch norm and the activation. */
export function blockForward(
  spec: NetSpec,
  block: number,
  h: tf.Tensor2D,
  p: BlockParams,
  opts: BlockForwardOptions = {},
  stats?: (s: BatchStats) => void,
): tf.Tensor2D {
  const z = opts.feedback === undefined ? tf.matMul(h, p.w) : feedbackMatMul(h, p.w, opts.feedback);
  let a: tf.Tensor2D = tf.add(z, p.b);
  if (!isHidden(spec, block)) return a;
  if (p.gamma !== undefined && p.beta !== undefined) {
    let mean: tf.Tensor1D;
    let variance: tf.Tensor1D;
    if (opts.runningStats !== undefined) {
      mean = opts.runningStats.mean;
      variance = opts.runningStats.variance;
    } else {
      const m = tf.moments(a, 0);
      mean = m.mean as tf.Tensor1D;
      variance = m.variance as tf.Tensor1D;
      stats?.({ mean: tf.keep(tf.clone(mean)), variance: tf.keep(tf.clone(variance)) });
    }
    a = tf.batchNorm2d(a, mean, variance, p.beta, p.gamma, BN_EPSILON);
  }
  return activate(a, spec.activation);
}
