/**
 * The feed-forward SparseNet's evaluation forward pass (action probabilities only) off the
 * training path: the host-array weights of the fused SIMD kernel (@sgprop/kernels perNeuron.ts), and
 * the neuron-major tfjs form used elsewhere or with the "matmul"/"depthwise" kernels forced.
 * FeedforwardSparseNet.probabilities chooses between them.
 */

import type { SimdForwardNet } from "@sgprop/kernels";
import * as tf from "@tensorflow/tfjs-core";
import { hostData } from "../kernels/hostMirror.js";
import { fastTanh } from "../ops/perNeuron.js";
import { gatherNeuronMajor } from "./hostGather.js";
import type { FeedforwardConnectivity, FeedforwardSparseNetConfig } from "./sparsenetConfig.js";

/** What the evaluation pass reads from a network (FeedforwardSparseNet satisfies it). */
export interface EvalNet {
  readonly config: FeedforwardSparseNetConfig;
  readonly connectivity: FeedforwardConnectivity;
  /** P q, the length of a neuron's input. */
  readonly nd: number;
  readonly vars: Readonly<Record<string, tf.Variable>>;
}

/** Per-layer, per-neuron weights of the neuron-major path (see {@link neuronMajorWeights}). */
export interface NeuronMajorWeights {
  readonly keys: tf.Tensor[][];
  readonly maps: tf.Tensor[][];
  readonly bias: tf.Tensor[][];
  readonly actionT: tf.Tensor;
}

function param(net: EvalNet, name: string): tf.Variable {
  const t = net.vars[name];
  if (t === undefined) throw new Error(`no parameter ${name}`);
  return t;
}

/** The hidden layers' parameters and connectivity as host arrays (for the SIMD forward kernel). */
export function simdHiddenWeights(net: EvalNet): SimdForwardNet {
  const L = net.config.numLayers;
  const read = (prefix: string) =>
    Array.from({ length: L }, (_, l) => hostData(param(net, `${prefix}.${l}`)));
  return {
    ...net.config,
    firstLayerInputIdx: net.connectivity.firstLayerInputIdx,
    parentIdx: net.connectivity.parentIdx,
    keys: read("hiddenKeys"),
    maps: read("hiddenA"),
    biases: read("hiddenB"),
  };
}

/**
 * Per-layer, per-neuron weights for the neuron-major path, cut on the host (one read of each
 * variable; slicing 200 small matrices out of a tensor costs far more on wasm): keys [nd, M]
 * pre-scaled by 1/sqrt(nd), slot maps [nd, M q] and slot biases [M q] both doubled (see
 * logitsNeuronMajor).
 */
export function neuronMajorWeights(net: EvalNet): NeuronMajorWeights {
  const { numLayers: L, width: w, numSlots: m, neuronDim: q } = net.config;
  const nd = net.nd;
  const mq = m * q;
  const keys: tf.Tensor[][] = [];
  const maps: tf.Tensor[][] = [];
  const bias: tf.Tensor[][] = [];
  const scale = 1 / Math.sqrt(nd);
  for (let l = 0; l < L; l++) {
    const kd = param(net, `hiddenKeys.${l}`).dataSync() as Float32Array; // [W, M, nd]
    const ad = param(net, `hiddenA.${l}`).dataSync() as Float32Array; // [W, M q, nd]
    const bd = param(net, `hiddenB.${l}`).dataSync() as Float32Array; // [W, M q]
    const kl: tf.Tensor[] = [];
    const al: tf.Tensor[] = [];
    const bl: tf.Tensor[] = [];
    for (let i = 0; i < w; i++) {
      const kt = new Float32Array(nd * m);
      for (let s = 0; s < m; s++)
        for (let d = 0; d < nd; d++) kt[d * m + s] = (kd[(i * m + s) * nd + d] as number) * scale;
      const at = new Float32Array(nd * mq);
      for (let r = 0; r < mq; r++)
        for (let d = 0; d < nd; d++) at[d * mq + r] = 2 * (ad[(i * mq + r) * nd + d] as number);
      kl.push(tf.tensor2d(kt, [nd, m]));
      al.push(tf.tensor2d(at, [nd, mq]));
      bl.push(tf.tensor1d(bd.slice(i * mq, (i + 1) * mq).map((v) => 2 * v)));
    }
    keys.push(kl);
    maps.push(al);
    bias.push(bl);
  }
  const actionT = tf.div(tf.transpose(param(net, "actionKeys")), Math.sqrt(w * q));
  return { keys, maps, bias, actionT };
}

export function logitsNeuronMajor(
  net: EvalNet,
  xd: Float32Array,
  b: number,
  weights: NeuronMajorWeights,
): tf.Tensor {
  const { numLayers: L, width: w, numSlots: m, neuronDim: q, numParents: p, residual } = net.config;
  const { connectivity: conn, nd } = net;
  let hPrev: tf.Tensor | undefined;
  for (let l = 0; l < L; l++) {
    const u =
      l === 0
        ? gatherNeuronMajor(xd, conn.firstLayerInputIdx, b, net.config.inputDim, 1, nd, false)
        : gatherNeuronMajor(
            (hPrev as tf.Tensor).dataSync() as Float32Array,
            conn.parentIdx.subarray((l - 1) * w * p, l * w * p),
            b,
            w,
            q,
            p,
            true,
          );
    const keys = weights.keys[l] as tf.Tensor[];
    const maps = weights.maps[l] as tf.Tensor[];
    const bias = weights.bias[l] as tf.Tensor[];
    const zk: tf.Tensor[] = [];
    const pre: tf.Tensor[] = [];
    for (let i = 0; i < w; i++) {
      const ui = tf.tensor2d(u.subarray(i * b * nd, (i + 1) * b * nd), [b, nd]);
      zk.push(tf.matMul(ui, keys[i] as tf.Tensor));
      pre.push(tf.fused.matMul({ a: ui as tf.Tensor2D, b: maps[i] as tf.Tensor2D, bias: bias[i] }));
    }
    const alpha = tf.softmax(tf.stack(zk), -1); // [W, B, M]
    // The slot maps were doubled on the host, so sigmoid(pre) = (1 + tanh(A u + b)) / 2, and as
    // the routing weights sum to one, sum_m alpha_m tanh_m = 2 sum_m alpha_m sigmoid_m - 1: the
    // affine part of tanh moves from the [W, B, M q] slot outputs to the [W, B, q] layer output.
    const s = tf.reshape(tf.sigmoid(tf.stack(pre)), [w, b, m, q]);
    const out = tf.sub(tf.mul(tf.sum(tf.mul(tf.expandDims(alpha, 3), s), 2), 2), 1); // [W, B, q]
    hPrev = residual && l > 0 ? tf.add(fastTanh(out), hPrev as tf.Tensor) : out;
  }
  const f = tf.reshape(tf.transpose(hPrev as tf.Tensor, [1, 0, 2]), [b, w * q]);
  return tf.matMul(f, weights.actionT);
}
