import type { Rng } from "@sgprop/gym";
import * as tf from "@tensorflow/tfjs-core";
import { type ChildrenGraph, childrenGraph } from "../sgprop/thetaSchedule.js";
import { slotActorLogits } from "./actor.js";
import { type RolloutHandle, rolloutHandle, rolloutStepParallel } from "./corePool.js";
import { EMBEDDING_PARAMS, embedObservations, LAYER_NORM_EPS, LEAKY_RELU_SLOPE } from "./embedding.js";
import {
  getParam,
  normalTensor,
  orthogonalTensor,
  type ParamMap,
  RecurrentConfigError,
  RecurrentInputError,
  requirePositiveInt,
  toVariables,
} from "./params.js";
import type { RolloutWeights } from "./rolloutCore.js";
import type { CoreMaps, CoreTrace } from "./sparseCore.js";
import { coreSizes, jsCoreMaps } from "./sparseMaps.js";

/** What a rollout needs from the policy for a batch (plain arrays, read once per batch). */
export interface RolloutMaps {
  readonly core: CoreMaps;
  readonly weights: RolloutWeights;
  /** The same, registered for the core worker (rollout steps split their envs between threads). */
  readonly handle: RolloutHandle;
}

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

/**
 * The embedding maps of the input neurons as one [E, Ni*cols] matrix each, so that the embedding
 * part of every input neuron's pre-activations for all rows is one large matmul (the zero
 * embedding input of the other neurons is skipped). Columns of neuron i: its M*q slot rows, then
 * (for the policy) its M routing keys.
 */
export interface CoreKernels {
  readonly dims: SparseNetDims;
  /** [E, Ni*C] policy slot maps and keys. */
  readonly wEmb: tf.Tensor2D;
  /** [E, Ni*Mq] SG predictor maps (sgprop only). */
  readonly sgEmb?: tf.Tensor2D;
}

function embeddingPart(a: tf.Tensor, d: SparseNetDims, keys: tf.Tensor | undefined): tf.Tensor2D {
  const cols = keys === undefined ? d.Mq : d.C;
  const aEmb = tf.reshape(tf.slice(a, [0, 0, 0, d.Pq], [d.Ni, d.M, d.q, d.E]), [d.Ni, d.Mq, d.E]);
  const both =
    keys === undefined ? aEmb : tf.concat([aEmb, tf.slice(keys, [0, 0, d.Pq], [d.Ni, d.M, d.E])], 1);
  return tf.reshape(tf.transpose(both, [2, 0, 1]), [d.E, d.Ni * cols]) as tf.Tensor2D;
}

/** Builds the embedding maps from canonical parameters (`withSg` adds the predictor's). */
export function coreKernels(
  c: SparseNetConfig,
  params: ReadonlyMap<string, tf.Tensor>,
  _parentIdx: Int32Array,
  withSg: boolean,
): CoreKernels {
  const d = sparseNetDims(c);
  const wEmb = tf.tidy(() => embeddingPart(getParam(params, "policyA"), d, getParam(params, "neuronKeys")));
  if (!withSg) return { dims: d, wEmb };
  const sgEmb = tf.tidy(() => embeddingPart(getParam(params, "sgA"), d, undefined));
  return { dims: d, wEmb, sgEmb };
}

export function disposeKernels(k: CoreKernels): void {
  k.wEmb.dispose();
  k.sgEmb?.dispose();
}

/** Parameters and connectivity of a recurrent SparseNet, with helpers for rollouts. */
export class SparseNetPolicy {
  readonly dims: SparseNetDims;
  readonly graph: ChildrenGraph;

  constructor(
    readonly config: SparseNetConfig,
    readonly params: ParamMap,
    readonly parentIdx: Int32Array,
  ) {
    validateSparseNetConfig(config);
    validateSparseNetParams(config, params, parentIdx);
    this.dims = sparseNetDims(config);
    this.graph = childrenGraph(parentIdx, config.width);
  }

  static create(config: SparseNetConfig, rng: Rng): SparseNetPolicy {
    const { params, parentIdx } = initSparseNet(config, rng);
    return new SparseNetPolicy(config, params, parentIdx);
  }

  embed(obs: tf.Tensor2D): tf.Tensor2D {
    if (obs.shape[1] !== this.config.obsDim) {
      throw new RecurrentInputError(
        `observation width ${obs.shape[1]} does not match the policy's obsDim ${this.config.obsDim}`,
      );
    }
    const p = this.params;
    return embedObservations(
      obs,
      getParam(p, "featureMap.weight"),
      getParam(p, "featureMap.bias"),
      getParam(p, "preprocessor.weight"),
      getParam(p, "preprocessor.bias"),
    );
  }

  /** Actor logits [N, A] from flattened states f [N, W*q]. */
  logits(f: tf.Tensor2D): tf.Tensor2D {
    const p = this.params;
    return slotActorLogits(f, getParam(p, "actorKeys"), getParam(p, "actorA"), getParam(p, "actorB"));
  }

  /**
   * One rollout step for B = starts.length envs on the WebAssembly kernels (embedding, core,
   * actor): observations `obs` [B][obsDim]; the previous state is `hPrev` at `hPrevOffset`
   * ([B][W][q]); envs with `starts[b] = 1` are zeroed; rows `row0..row0+B-1` of `trace` receive the
   * step (inputs, routing, slot outputs, new state). Returns the logits [B][A]. `maps` come from
   * {@link rolloutMaps}.
   */
  step(
    maps: RolloutMaps,
    hPrev: Float32Array,
    hPrevOffset: number,
    starts: ArrayLike<number>,
    obs: Float32Array,
    trace: CoreTrace,
    row0: number,
  ): Float32Array {
    const b = starts.length;
    if (obs.length !== b * this.config.obsDim) {
      throw new RecurrentInputError(
        `observation width ${obs.length / b} does not match the policy's obsDim ${this.config.obsDim}`,
      );
    }
    const keep = new Float32Array(b);
    for (let i = 0; i < b; i++) keep[i] = 1 - (starts[i] as number);
    return rolloutStepParallel(
      coreSizes(this.dims),
      maps.handle,
      hPrev,
      hPrevOffset,
      keep,
      obs,
      trace,
      row0,
      b,
    );
  }

  /** Maps and weights for rollouts (read once per batch). */
  rolloutMaps(): RolloutMaps {
    const k = coreKernels(this.config, this.params, this.parentIdx, false);
    const wEmb = Float32Array.from(k.wEmb.dataSync());
    disposeKernels(k);
    const p = this.params;
    const read = (name: string) => Float32Array.from(getParam(p, name).dataSync());
    const c = this.config;
    const core = jsCoreMaps(p, this.parentIdx, this.dims, false);
    const weights: RolloutWeights = {
      obsDim: c.obsDim,
      embedHidden: c.embedHidden,
      embedDim: c.embedDim,
      numActions: c.numActions,
      actorSlots: c.actorSlots,
      lnEps: LAYER_NORM_EPS,
      leakySlope: LEAKY_RELU_SLOPE,
      featureMapWeight: read("featureMap.weight"),
      featureMapBias: read("featureMap.bias"),
      preprocessorWeight: read("preprocessor.weight"),
      preprocessorBias: read("preprocessor.bias"),
      wEmb,
      actorKeys: read("actorKeys"),
      actorA: read("actorA"),
      actorB: read("actorB"),
    };
    return { core, weights, handle: rolloutHandle(core, weights) };
  }

  /** A zero state [B][W][q]. */
  zeroState(numEnvs: number): Float32Array {
    return new Float32Array(numEnvs * this.dims.W * this.dims.q);
  }

  dispose(): void {
    for (const t of this.params.values()) t.dispose();
  }
}
