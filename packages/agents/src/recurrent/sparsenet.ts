import type { Rng } from "@sgprop/gym";
import * as tf from "@tensorflow/tfjs-core";
import { slotActorLogits } from "./actor.js";
import { EMBEDDING_PARAMS, embedObservations } from "./embedding.js";
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
import { type CoreMaps, type CoreTrace, coreForwardStep } from "./sparseCore.js";
import { coreSizes, jsCoreMaps } from "./sparseMaps.js";
import { type ChildrenGraph, childrenGraph } from "./thetaSchedule.js";

/** What a rollout needs from the policy for a batch. */
export interface RolloutMaps {
  readonly core: CoreMaps;
  /** [E, Ni*C] embedding maps of the input neurons. */
  readonly wEmb: tf.Tensor2D;
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
 * The neuron maps rearranged for batched matmuls: one fused [W, Pq, C] map for the parent part of
 * every neuron (slot outputs and routing scores), one [E, Ni*C] map for the embedding part of the
 * input neurons (the zero embedding input of the others is skipped), and the SG maps alike.
 */
export interface CoreKernels {
  readonly dims: SparseNetDims;
  readonly wPar: tf.Tensor3D;
  readonly wEmb: tf.Tensor2D;
  readonly bias: tf.Tensor3D;
  readonly sgPar?: tf.Tensor3D;
  readonly sgEmb?: tf.Tensor2D;
  readonly sgBias?: tf.Tensor3D;
  readonly parentFlat: tf.Tensor1D;
  /** [W, W*P], entry (j, i*P+p) = 1 when parentIdx[i,p] = j: the adjoint of the parent gather. */
  readonly scatter: tf.Tensor2D;
}

function splitSlotMap(
  a: tf.Tensor,
  d: SparseNetDims,
  keys: tf.Tensor | undefined,
): { par: tf.Tensor3D; emb: tf.Tensor2D } {
  const cols = keys === undefined ? d.Mq : d.C;
  const aPar = tf.transpose(
    tf.reshape(tf.slice(a, [0, 0, 0, 0], [d.W, d.M, d.q, d.Pq]), [d.W, d.Mq, d.Pq]),
    [0, 2, 1],
  );
  const aEmb = tf.reshape(tf.slice(a, [0, 0, 0, d.Pq], [d.Ni, d.M, d.q, d.E]), [d.Ni, d.Mq, d.E]);
  if (keys === undefined) {
    return {
      par: aPar as tf.Tensor3D,
      emb: tf.reshape(tf.transpose(aEmb, [2, 0, 1]), [d.E, d.Ni * cols]) as tf.Tensor2D,
    };
  }
  const kPar = tf.transpose(tf.slice(keys, [0, 0, 0], [d.W, d.M, d.Pq]), [0, 2, 1]);
  const kEmb = tf.slice(keys, [0, 0, d.Pq], [d.Ni, d.M, d.E]);
  return {
    par: tf.concat([aPar, kPar], 2) as tf.Tensor3D,
    emb: tf.reshape(tf.transpose(tf.concat([aEmb, kEmb], 1), [2, 0, 1]), [d.E, d.Ni * cols]) as tf.Tensor2D,
  };
}

/** Builds the kernels from canonical parameters (`withSg` adds the predictor maps). */
export function coreKernels(
  c: SparseNetConfig,
  params: ReadonlyMap<string, tf.Tensor>,
  parentIdx: Int32Array,
  withSg: boolean,
): CoreKernels {
  const d = sparseNetDims(c);
  return tf.tidy(() => {
    const main = splitSlotMap(getParam(params, "policyA"), d, getParam(params, "neuronKeys"));
    const bias = tf.reshape(
      tf.concat([tf.reshape(getParam(params, "policyB"), [d.W, d.Mq]), tf.zeros([d.W, d.M])], 1),
      [d.W, 1, d.C],
    ) as tf.Tensor3D;
    const scatterData = new Float32Array(d.W * d.W * d.P);
    for (let k = 0; k < d.W * d.P; k++) scatterData[(parentIdx[k] as number) * d.W * d.P + k] = 1;
    const out: CoreKernels = {
      dims: d,
      wPar: main.par,
      wEmb: main.emb,
      bias,
      parentFlat: tf.tensor1d(parentIdx, "int32"),
      scatter: tf.tensor2d(scatterData, [d.W, d.W * d.P]),
      ...(withSg
        ? (() => {
            const sg = splitSlotMap(getParam(params, "sgA"), d, undefined);
            return {
              sgPar: sg.par,
              sgEmb: sg.emb,
              sgBias: tf.reshape(getParam(params, "sgB"), [d.W, 1, d.Mq]) as tf.Tensor3D,
            };
          })()
        : {}),
    };
    return out as unknown as tf.TensorContainer;
  }) as unknown as CoreKernels;
}

export function disposeKernels(k: CoreKernels): void {
  for (const t of [k.wPar, k.wEmb, k.bias, k.sgPar, k.sgEmb, k.sgBias, k.parentFlat, k.scatter]) t?.dispose();
}

/**
 * Per-neuron additive terms of the fused map that do not depend on the hidden state: the
 * embedding part (input neurons only) plus the bias. e [N, E] -> [W, N, cols].
 */
export function externalTerm(
  e: tf.Tensor2D,
  wEmb: tf.Tensor2D,
  bias: tf.Tensor3D,
  d: SparseNetDims,
  cols: number,
): tf.Tensor3D {
  const n = e.shape[0];
  let ext = tf.transpose(tf.reshape(tf.matMul(e, wEmb), [n, d.Ni, cols]), [1, 0, 2]);
  if (d.Ni < d.W) ext = tf.concat([ext, tf.zeros([d.W - d.Ni, n, cols])], 0);
  return tf.add(ext, bias) as tf.Tensor3D;
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
   * One rollout step on the typed-array core for B envs: the previous state is `hPrev` at
   * `hPrevOffset` ([B][W][q]); envs with `starts[b] = 1` are zeroed; rows `row0..row0+B-1` of
   * `trace` receive the step (inputs, routing, slot outputs, new state). Returns the logits [B, A].
   * `maps` come from {@link rolloutMaps}.
   */
  step(
    maps: RolloutMaps,
    hPrev: Float32Array,
    hPrevOffset: number,
    starts: ArrayLike<number>,
    obs: tf.Tensor2D,
    trace: CoreTrace,
    row0: number,
  ): Float32Array {
    const b = obs.shape[0];
    const d = this.dims;
    const keep = new Float32Array(b);
    for (let i = 0; i < b; i++) keep[i] = 1 - (starts[i] as number);
    const extT = tf.tidy(() => tf.matMul(this.embed(obs), maps.wEmb));
    const ext = extT.dataSync() as Float32Array;
    extT.dispose();
    coreForwardStep(coreSizes(d), maps.core, hPrev, hPrevOffset, keep, ext, 0, trace, row0, b);
    const size = b * d.W * d.q;
    const from = row0 * d.W * d.q;
    const logitsT = tf.tidy(() =>
      this.logits(tf.tensor2d(trace.h.subarray(from, from + size), [b, d.W * d.q])),
    );
    const logits = logitsT.dataSync() as Float32Array;
    logitsT.dispose();
    return logits;
  }

  /** Maps for rollouts (read once per batch); dispose `wEmb` afterwards. */
  rolloutMaps(): RolloutMaps {
    const k = coreKernels(this.config, this.params, this.parentIdx, false);
    const wEmb = k.wEmb.clone();
    disposeKernels(k);
    return { core: jsCoreMaps(this.params, this.parentIdx, this.dims, false), wEmb };
  }

  /** A zero state [B][W][q]. */
  zeroState(numEnvs: number): Float32Array {
    return new Float32Array(numEnvs * this.dims.W * this.dims.q);
  }

  dispose(): void {
    for (const t of this.params.values()) t.dispose();
  }
}
