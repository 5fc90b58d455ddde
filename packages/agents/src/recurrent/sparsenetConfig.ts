/**
 * The recurrent SparseNet's sizes, canonical parameter names, initialisation and shape checks
 * (SPEC 4.3). Shared by the policy (sparsenet.ts) and the kernel-layout conversions
 * (sparseMaps.ts), so neither imports the other for its types.
 */
import type { Rng } from "@sgprop/gym";
import * as tf from "@tensorflow/tfjs-core";
import { EMBEDDING_PARAMS } from "./embedding.js";
import {
  getParam,
  normalTensor,
  orthogonalTensor,
  type ParamMap,
  RecurrentConfigError,
  requirePositiveInt,
  toVariables,
} from "./params.js";

/** Sizes of the recurrent SparseNet policy (SPEC 4.3; paper values in {@link PAPER_SPARSENET_SIZES}). */
export interface SparseNetConfig {
  readonly obsDim: number;
  readonly numActions: number;
  /** Neurons W. */
  readonly width: number;
  /** State size q of a neuron. */
  readonly neuronDim: number;
  /** Parents P per neuron. */
  readonly numParents: number;
  /** Slots M per neuron. */
  readonly numSlots: number;
  /** Neurons 0..numInputNeurons-1 read the observation embedding. */
  readonly numInputNeurons: number;
  /** E1: width of featureMap. */
  readonly embedHidden: number;
  /** E: width of the embedding e_t. */
  readonly embedDim: number;
  /** Ma: actor slots per action. */
  readonly actorSlots: number;
}

export const PAPER_SPARSENET_SIZES = {
  width: 128,
  neuronDim: 6,
  numParents: 6,
  numSlots: 6,
  numInputNeurons: 16,
  embedHidden: 128,
  embedDim: 128,
  actorSlots: 6,
} as const;

/** Policy parameters in canonical order (those the policy optimiser and clipping see). */
export const SPARSENET_POLICY_PARAMS = [
  ...EMBEDDING_PARAMS,
  "neuronKeys",
  "policyA",
  "policyB",
  "actorKeys",
  "actorA",
  "actorB",
] as const;
/** Synthetic-gradient predictor parameters (own optimiser, own clipping). */
export const SPARSENET_SG_PARAMS = ["sgA", "sgB"] as const;

export function validateSparseNetConfig(c: SparseNetConfig): void {
  for (const key of [
    "obsDim",
    "numActions",
    "width",
    "neuronDim",
    "numParents",
    "numSlots",
    "numInputNeurons",
    "embedHidden",
    "embedDim",
    "actorSlots",
  ] as const) {
    requirePositiveInt(key, c[key]);
  }
  if (c.numParents > c.width) {
    throw new RecurrentConfigError(
      `numParents ${c.numParents} exceeds width ${c.width} (parents are distinct)`,
    );
  }
  if (c.numInputNeurons > c.width) {
    throw new RecurrentConfigError(`numInputNeurons ${c.numInputNeurons} exceeds width ${c.width}`);
  }
}

/** Derived sizes used throughout. */
export interface SparseNetDims {
  readonly W: number;
  readonly q: number;
  readonly P: number;
  readonly M: number;
  readonly Ni: number;
  readonly E: number;
  /** P*q, the parent part of a neuron's input. */
  readonly Pq: number;
  /** Full input length D = P*q + E (the routing scale uses it for every neuron). */
  readonly D: number;
  /** Columns of a neuron's fused slot map: M*q slot outputs then M routing scores. */
  readonly C: number;
  readonly Mq: number;
}

export function sparseNetDims(c: SparseNetConfig): SparseNetDims {
  const Pq = c.numParents * c.neuronDim;
  const Mq = c.numSlots * c.neuronDim;
  return {
    W: c.width,
    q: c.neuronDim,
    P: c.numParents,
    M: c.numSlots,
    Ni: c.numInputNeurons,
    E: c.embedDim,
    Pq,
    D: Pq + c.embedDim,
    C: Mq + c.numSlots,
    Mq,
  };
}

/** Initial parameters (SPEC 4.3) and connectivity, all drawn from `rng`. */
export function initSparseNet(c: SparseNetConfig, rng: Rng): { params: ParamMap; parentIdx: Int32Array } {
  validateSparseNetConfig(c);
  const d = sparseNetDims(c);
  const wq = d.W * d.q;
  const parentIdx = new Int32Array(d.W * d.P);
  for (let i = 0; i < d.W; i++) {
    rng.sampleWithoutReplacement(d.W, d.P).forEach((p, k) => {
      parentIdx[i * d.P + k] = p;
    });
  }
  const params = new Map<string, tf.Tensor>();
  params.set("featureMap.weight", orthogonalTensor(rng, c.embedHidden, c.obsDim));
  params.set("featureMap.bias", tf.zeros([c.embedHidden]));
  params.set("preprocessor.weight", orthogonalTensor(rng, c.embedDim, c.embedHidden));
  params.set("preprocessor.bias", tf.zeros([c.embedDim]));
  const std = 1 / Math.sqrt(d.D);
  params.set("neuronKeys", normalTensor(rng, [d.W, d.M, d.D], std));
  params.set("policyA", normalTensor(rng, [d.W, d.M, d.q, d.D], std));
  params.set("policyB", normalTensor(rng, [d.W, d.M, d.q], std));
  params.set("actorKeys", normalTensor(rng, [c.numActions, c.actorSlots, wq], 1 / Math.sqrt(wq)));
  params.set("actorA", normalTensor(rng, [c.numActions, c.actorSlots, wq], 1 / Math.sqrt(wq)));
  params.set("actorB", tf.zeros([c.numActions, c.actorSlots]));
  params.set("sgA", tf.zeros([d.W, d.M, d.q, d.D]));
  params.set("sgB", tf.zeros([d.W, d.M, d.q]));
  const vars = toVariables(params);
  for (const t of params.values()) t.dispose();
  return { params: vars, parentIdx };
}

/** Checks canonical shapes of a parameter map and the connectivity against the config. */
export function validateSparseNetParams(
  c: SparseNetConfig,
  params: ReadonlyMap<string, tf.Tensor>,
  parentIdx: ArrayLike<number>,
): void {
  const d = sparseNetDims(c);
  const wq = d.W * d.q;
  const shapes: Record<string, number[]> = {
    "featureMap.weight": [c.embedHidden, c.obsDim],
    "featureMap.bias": [c.embedHidden],
    "preprocessor.weight": [c.embedDim, c.embedHidden],
    "preprocessor.bias": [c.embedDim],
    neuronKeys: [d.W, d.M, d.D],
    policyA: [d.W, d.M, d.q, d.D],
    policyB: [d.W, d.M, d.q],
    sgA: [d.W, d.M, d.q, d.D],
    sgB: [d.W, d.M, d.q],
    actorKeys: [c.numActions, c.actorSlots, wq],
    actorA: [c.numActions, c.actorSlots, wq],
    actorB: [c.numActions, c.actorSlots],
  };
  for (const [name, shape] of Object.entries(shapes)) {
    const t = getParam(params, name);
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
      throw new RecurrentConfigError(`parameter ${name} has shape [${t.shape}], expected [${shape}]`);
    }
  }
  if (parentIdx.length !== d.W * d.P) {
    throw new RecurrentConfigError(`parentIdx has ${parentIdx.length} entries, expected ${d.W} x ${d.P}`);
  }
  for (let i = 0; i < d.W; i++) {
    const seen = new Set<number>();
    for (let p = 0; p < d.P; p++) {
      const v = parentIdx[i * d.P + p] as number;
      if (!Number.isInteger(v) || v < 0 || v >= d.W || seen.has(v)) {
        throw new RecurrentConfigError(`parentIdx row ${i} has an invalid or repeated parent ${v}`);
      }
      seen.add(v);
    }
  }
}
