import type * as tf from "@tensorflow/tfjs-core";
import { getParam } from "./params.js";
import { type CoreMaps, type CoreSizes, transposeMaps } from "./sparseCore.js";
import type { SparseNetDims } from "./sparsenetConfig.js";

/** Core maps in loop layout plus, optionally, the SG predictor maps. */
export interface JsCoreMaps extends CoreMaps {
  /** [W][Mq][Pq] */
  readonly sgParT?: Float32Array;
  /** [W][Mq] */
  readonly sgBias?: Float32Array;
}

export function coreSizes(d: SparseNetDims): CoreSizes {
  return { W: d.W, q: d.q, P: d.P, M: d.M, Ni: d.Ni, Pq: d.Pq, Mq: d.Mq, C: d.C, D: d.D };
}

/** Parent part of a canonical [W, M, q, D] slot map (and [W, M, D] keys) as [W][Pq][cols]. */
function parentPart(a: Float32Array, keys: Float32Array | undefined, d: SparseNetDims): Float32Array {
  const cols = keys === undefined ? d.Mq : d.C;
  const out = new Float32Array(d.W * d.Pq * cols);
  for (let i = 0; i < d.W; i++) {
    for (let c = 0; c < d.Mq; c++) {
      const src = (i * d.Mq + c) * d.D;
      for (let k = 0; k < d.Pq; k++) out[(i * d.Pq + k) * cols + c] = a[src + k] as number;
    }
    if (keys !== undefined) {
      for (let m = 0; m < d.M; m++) {
        const src = (i * d.M + m) * d.D;
        for (let k = 0; k < d.Pq; k++) out[(i * d.Pq + k) * cols + d.Mq + m] = keys[src + k] as number;
      }
    }
  }
  return out;
}

/** Reads the canonical parameters into loop layout (one download per update or rollout). */
export function jsCoreMaps(
  params: ReadonlyMap<string, tf.Tensor>,
  parentIdx: Int32Array,
  d: SparseNetDims,
  withSg: boolean,
): JsCoreMaps {
  const a = getParam(params, "policyA").dataSync() as Float32Array;
  const keys = getParam(params, "neuronKeys").dataSync() as Float32Array;
  const b = getParam(params, "policyB").dataSync() as Float32Array;
  const bias = new Float32Array(d.W * d.C);
  for (let i = 0; i < d.W; i++) for (let c = 0; c < d.Mq; c++) bias[i * d.C + c] = b[i * d.Mq + c] as number;
  const wPar = parentPart(a, keys, d);
  const maps: JsCoreMaps = { wPar, bias, parentIdx };
  if (!withSg) return maps;
  const sgPar = parentPart(getParam(params, "sgA").dataSync() as Float32Array, undefined, d);
  return {
    ...maps,
    sgParT: transposeMaps(sgPar, d.W, d.Pq, d.Mq),
    sgBias: Float32Array.from(getParam(params, "sgB").dataSync()),
  };
}

/**
 * Canonical [W, M, q, D] gradient (and [W, M, D] key gradient when `withKeys`) from the parent-part
 * gradient [W][Pq][cols] and the embedding-part gradient [Ni][cols][E] (input neurons only; the
 * zero-input columns of the other neurons get exactly zero).
 */
export function canonicalSlotGrads(
  par: Float64Array,
  emb: Float64Array,
  d: SparseNetDims,
  withKeys: boolean,
): { a: Float32Array; keys?: Float32Array } {
  const cols = withKeys ? d.C : d.Mq;
  const a = new Float32Array(d.W * d.Mq * d.D);
  const keys = withKeys ? new Float32Array(d.W * d.M * d.D) : undefined;
  for (let i = 0; i < d.W; i++) {
    for (let c = 0; c < d.Mq; c++) {
      const dst = (i * d.Mq + c) * d.D;
      for (let k = 0; k < d.Pq; k++) a[dst + k] = par[(i * d.Pq + k) * cols + c] as number;
      if (i < d.Ni) {
        const src = (i * cols + c) * d.E;
        for (let e = 0; e < d.E; e++) a[dst + d.Pq + e] = emb[src + e] as number;
      }
    }
    if (keys !== undefined) {
      for (let m = 0; m < d.M; m++) {
        const dst = (i * d.M + m) * d.D;
        for (let k = 0; k < d.Pq; k++) keys[dst + k] = par[(i * d.Pq + k) * cols + d.Mq + m] as number;
        if (i < d.Ni) {
          const src = (i * cols + d.Mq + m) * d.E;
          for (let e = 0; e < d.E; e++) keys[dst + d.Pq + e] = emb[src + e] as number;
        }
      }
    }
  }
  return keys !== undefined ? { a, keys } : { a };
}
