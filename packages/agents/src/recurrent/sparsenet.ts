import type { Rng } from "@sgprop/gym";
import * as tf from "@tensorflow/tfjs-core";
import { type ChildrenGraph, childrenGraph } from "../sgprop/thetaSchedule.js";
import { slotActorLogits } from "./actor.js";
import { type RolloutHandle, rolloutHandle, rolloutStepParallel } from "./corePool.js";
import { embedObservations, LAYER_NORM_EPS, LEAKY_RELU_SLOPE } from "./embedding.js";
import { getParam, type ParamMap, RecurrentInputError } from "./params.js";
import type { RolloutWeights } from "./rolloutCore.js";
import type { CoreMaps, CoreTrace } from "./sparseCore.js";
import { coreSizes, jsCoreMaps } from "./sparseMaps.js";
import {
  initSparseNet,
  type SparseNetConfig,
  type SparseNetDims,
  sparseNetDims,
  validateSparseNetConfig,
  validateSparseNetParams,
} from "./sparsenetConfig.js";

/** What a rollout needs from the policy for a batch (plain arrays, read once per batch). */
export interface RolloutMaps {
  readonly core: CoreMaps;
  readonly weights: RolloutWeights;
  /** The same, registered for the core worker (rollout steps split their envs between threads). */
  readonly handle: RolloutHandle;
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
