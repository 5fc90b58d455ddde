/**
 * The feed-forward SparseNet's sizes, canonical parameter names and shapes, fixed random
 * connectivity and initialisation (SPEC 4.2). Shared by the tfjs reference (sparsenet.ts) and the
 * kernel path (sparsenetKernels.ts), so neither imports the other for its types.
 */
import type { Rng } from "@sgprop/gym";
import * as tf from "@tensorflow/tfjs-core";
import { InvalidConfigError, requireInt } from "./errors.js";

/** Sizes of the feed-forward FeedforwardSparseNet of the bandit (SPEC 4.2). */
export interface FeedforwardSparseNetConfig {
  /** Context length X (784 for MNIST). */
  readonly inputDim: number;
  /** Hidden layers L. */
  readonly numLayers: number;
  /** Neurons per layer W. */
  readonly width: number;
  /** Neuron state size q. */
  readonly neuronDim: number;
  /** Slots per neuron M. */
  readonly numSlots: number;
  /** Parents per neuron P (layer 0 reads P*q pixels). */
  readonly numParents: number;
  /** Actions A. */
  readonly numActions: number;
  /** Layers l > 0 output tanh(out) + h_{l-1} (the paper's setting). */
  readonly residual: boolean;
}

/** Validates a configuration and returns it; impossible sizes throw {@link InvalidConfigError}. */
export function checkFeedforwardConfig(c: FeedforwardSparseNetConfig): FeedforwardSparseNetConfig {
  requireInt("inputDim", c.inputDim, 1);
  requireInt("numLayers", c.numLayers, 1);
  requireInt("width", c.width, 1);
  requireInt("neuronDim", c.neuronDim, 1);
  requireInt("numSlots", c.numSlots, 1);
  requireInt("numParents", c.numParents, 1);
  requireInt("numActions", c.numActions, 2);
  if (c.numParents > c.width) {
    throw new InvalidConfigError("numParents", c.numParents, `<= width (${c.width}): parents are distinct`);
  }
  if (c.numParents * c.neuronDim > c.inputDim) {
    throw new InvalidConfigError(
      "numParents * neuronDim",
      c.numParents * c.neuronDim,
      `<= inputDim (${c.inputDim}): layer-0 neurons read distinct pixels`,
    );
  }
  return c;
}

/** Canonical names of the policy parameters of a FeedforwardSparseNet with L layers. */
export function feedforwardPolicyNames(numLayers: number): string[] {
  const names: string[] = [];
  for (let l = 0; l < numLayers; l++) names.push(`hiddenKeys.${l}`, `hiddenA.${l}`, `hiddenB.${l}`);
  names.push("actionKeys");
  return names;
}

/** Canonical names of the SG-predictor parameters. */
export function feedforwardSgNames(numLayers: number): string[] {
  const names: string[] = [];
  for (let l = 0; l < numLayers; l++) names.push(`sg.hiddenA.${l}`, `sg.hiddenB.${l}`);
  names.push("sg.actionA", "sg.actionB");
  return names;
}

/** Canonical shapes of every parameter. */
export function feedforwardShapes(c: FeedforwardSparseNetConfig): Record<string, number[]> {
  const { width: w, numSlots: m, neuronDim: q, numActions: a } = c;
  const nd = c.numParents * q;
  const shapes: Record<string, number[]> = {};
  for (let l = 0; l < c.numLayers; l++) {
    shapes[`hiddenKeys.${l}`] = [w, m, nd];
    shapes[`hiddenA.${l}`] = [w, m, q, nd];
    shapes[`hiddenB.${l}`] = [w, m, q];
    shapes[`sg.hiddenA.${l}`] = [w, m, q, nd];
    shapes[`sg.hiddenB.${l}`] = [w, m, q];
  }
  shapes.actionKeys = [a, w * q];
  shapes["sg.actionA"] = [a, w * q, a];
  shapes["sg.actionB"] = [a, a];
  return shapes;
}

/** Fixed random connectivity: row-major int arrays. */
export interface FeedforwardConnectivity {
  /** [W, nd] pixel indices read by layer-0 neurons. */
  readonly firstLayerInputIdx: Int32Array;
  /** [L-1, W, P] parents (in layer l-1) of neuron i of layer l. */
  readonly parentIdx: Int32Array;
}

/** Draws the connectivity uniformly without replacement per neuron (SPEC 4.2). */
export function drawFeedforwardConnectivity(
  c: FeedforwardSparseNetConfig,
  rng: Rng,
): FeedforwardConnectivity {
  const nd = c.numParents * c.neuronDim;
  const first = new Int32Array(c.width * nd);
  for (let i = 0; i < c.width; i++) first.set(rng.sampleWithoutReplacement(c.inputDim, nd), i * nd);
  const parents = new Int32Array((c.numLayers - 1) * c.width * c.numParents);
  for (let k = 0; k < (c.numLayers - 1) * c.width; k++) {
    parents.set(rng.sampleWithoutReplacement(c.width, c.numParents), k * c.numParents);
  }
  return { firstLayerInputIdx: first, parentIdx: parents };
}

export function checkFeedforwardConnectivity(
  c: FeedforwardSparseNetConfig,
  conn: FeedforwardConnectivity,
): void {
  const nd = c.numParents * c.neuronDim;
  if (conn.firstLayerInputIdx.length !== c.width * nd) {
    throw new InvalidConfigError(
      "firstLayerInputIdx length",
      conn.firstLayerInputIdx.length,
      `${c.width * nd}`,
    );
  }
  if (conn.parentIdx.length !== (c.numLayers - 1) * c.width * c.numParents) {
    throw new InvalidConfigError(
      "parentIdx length",
      conn.parentIdx.length,
      `${(c.numLayers - 1) * c.width * c.numParents}`,
    );
  }
  conn.firstLayerInputIdx.forEach((v, k) => {
    if (v < 0 || v >= c.inputDim)
      throw new InvalidConfigError(`firstLayerInputIdx[${k}]`, v, `in [0, ${c.inputDim})`);
  });
  conn.parentIdx.forEach((v, k) => {
    if (v < 0 || v >= c.width) throw new InvalidConfigError(`parentIdx[${k}]`, v, `in [0, ${c.width})`);
  });
}

/** Draws every parameter with the paper's initialisation (normal, std 1/sqrt(nd); action head 1/sqrt(W q)). */
export function initFeedforwardParams(c: FeedforwardSparseNetConfig, rng: Rng): Record<string, tf.Tensor> {
  const nd = c.numParents * c.neuronDim;
  const out: Record<string, tf.Tensor> = {};
  for (const [name, shape] of Object.entries(feedforwardShapes(c))) {
    // The reference draws actionKeys with std 1/sqrt(nd) too; only the SG action head uses 1/sqrt(W q).
    const std = name.startsWith("sg.action") ? 1 / Math.sqrt(c.width * c.neuronDim) : 1 / Math.sqrt(nd);
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = rng.normal() * std;
    out[name] = tf.tensor(data, shape);
  }
  return out;
}

export function pickParams<T>(all: Readonly<Record<string, T>>, names: readonly string[]): Record<string, T> {
  const out: Record<string, T> = {};
  for (const n of names) {
    const t = all[n];
    if (t === undefined) throw new Error(`no parameter ${n}`);
    out[n] = t;
  }
  return out;
}
