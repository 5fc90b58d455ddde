import * as tf from "@tensorflow/tfjs-core";
import type { BanditTensors } from "../bandit/loss.js";
import { banditLoss } from "../bandit/loss.js";
import { mirroredTensor } from "../kernels/hostMirror.js";
import type { PolicyGradResult, PolicyStepOptions, SgPhaseOptions, SgPhaseResult } from "./sgpropShared.js";
import { backpropActionHead, policyActionGradient, sgActionHead } from "./sgpropShared.js";
import type { FeedforwardSparseNet } from "./sparsenet.js";
import type { NativeLayerGrads } from "./sparsenetKernels.js";
import type { FeedforwardForward } from "./sparsenetTrace.js";
import { liveTrace } from "./sparsenetTrace.js";

/**
 * The three gradient computations of feedforward/sgprop.ts for a forward pass that ran on the
 * SIMD kernels (fwd.native): the same mathematics, layer by layer in kernel memory
 * (sparsenetKernels.ts), with the action head in tfjs. The callers dispatch here; the
 * golden-file conformance runs through these functions on the wasm and cpu backends.
 */

const MODE_CODES = { prediction: 0, positive_projection: 1 } as const;

function engineOf(fwd: FeedforwardForward) {
  if (fwd.native === undefined) throw new Error("not a kernel forward pass");
  return liveTrace(fwd.native);
}

function layerGradTensors(
  net: FeedforwardSparseNet,
  l: number,
  g: NativeLayerGrads,
  grads: Record<string, tf.Tensor>,
): void {
  const { width: w, numSlots: m, neuronDim: q, numParents: p } = net.config;
  grads[`hiddenKeys.${l}`] = mirroredTensor(g.keys, [w, m, p * q]);
  grads[`hiddenA.${l}`] = mirroredTensor(g.A, [w, m, q, p * q]);
  grads[`hiddenB.${l}`] = mirroredTensor(g.b, [w, m, q]);
}

function shapeBWq(net: FeedforwardSparseNet, b: number): [number, number, number] {
  return [b, net.config.width, net.config.neuronDim];
}

/** {@link backpropPolicyGradients} on the kernels. */
export function nativeBackpropGradients(
  net: FeedforwardSparseNet,
  fwd: FeedforwardForward,
  batch: BanditTensors,
): { loss: tf.Scalar; grads: Record<string, tf.Tensor>; trueGradNorm: tf.Scalar } {
  const engine = engineOf(fwd);
  const L = net.config.numLayers;
  const { loss, grads, dh } = backpropActionHead(net, fwd, batch);
  let g: 0 | 1 = engine.setTopGradient(dh.dataSync() as Float32Array);
  let trueSq = 0;
  for (let l = L - 1; l >= 0; l--) {
    trueSq += engine.sumSquares(g);
    const r = engine.backward(l, g, true);
    layerGradTensors(net, l, r.grads as NativeLayerGrads, grads);
    if (r.next !== undefined) g = r.next;
  }
  return { loss, grads, trueGradNorm: tf.scalar(Math.sqrt(trueSq)) };
}

/** {@link sgPhaseGradients} on the kernels (routing keys frozen). */
export function nativeSgPhase(
  net: FeedforwardSparseNet,
  fwd: FeedforwardForward,
  batch: BanditTensors,
  theta: readonly tf.Tensor[],
  opts: SgPhaseOptions,
): SgPhaseResult {
  const engine = engineOf(fwd);
  if (!fwd.native?.withSg) throw new Error("sgPhaseGradients needs a forward pass with SG predictions");
  const { numLayers: L, width: w, numSlots: m, neuronDim: q, numParents: p } = net.config;
  const b = batch.x.shape[0] as number;
  const recorded: Record<string, tf.Tensor> = {};
  const grads: Record<string, tf.Tensor> = {};
  const { dlogits } = banditLoss(fwd.logits, batch.actions, batch.rewards);
  const last = fwd.layers[L - 1];
  if (last === undefined) throw new Error("empty forward");
  let g: 0 | 1 = engine.setTopGradient(
    net.backwardAction(last.h, dlogits, false).dh.dataSync() as Float32Array,
  );
  // Targets top-down: the gradient arriving at h_l after mixing at every layer above.
  for (let l = L - 1; l >= 0; l--) {
    engine.storeTarget(l, g);
    if (l === 0) break;
    engine.mix(l, g, (theta[l] as tf.Tensor).dataSync() as Float32Array, MODE_CODES[opts.mode], false, 0);
    g = engine.backward(l, "mixed", false).next as 0 | 1;
  }
  const losses: number[] = [];
  for (let l = 0; l < L; l++) {
    const r = engine.sgGradients(l);
    losses.push(r.loss);
    grads[`sg.hiddenA.${l}`] = mirroredTensor(r.A, [w, m, q, p * q]);
    grads[`sg.hiddenB.${l}`] = mirroredTensor(r.b, [w, m, q]);
    if (opts.record) {
      recorded[`hiddenTarget.${l}`] = tf.tensor3d(engine.read(l, "target"), shapeBWq(net, b));
      recorded[`sgPhasePred.${l}`] = tf.tensor3d(engine.read(l, "sgPred"), shapeBWq(net, b));
    }
  }
  const actionLoss = sgActionHead(net, fwd, dlogits, opts, grads, recorded);
  return { losses: tf.concat([tf.tensor1d(losses), tf.reshape(actionLoss, [1])]), grads, recorded };
}

/** {@link sgpropPolicyGradients} on the kernels. */
export function nativePolicyGradients(
  net: FeedforwardSparseNet,
  fwd: FeedforwardForward,
  batch: BanditTensors,
  theta: readonly tf.Tensor[],
  opts: PolicyStepOptions,
  thetaAction?: tf.Tensor,
): PolicyGradResult {
  const engine = engineOf(fwd);
  if (!fwd.native?.withSg) throw new Error("sgpropPolicyGradients needs SG predictions in the forward cache");
  const L = net.config.numLayers;
  const b = batch.x.shape[0] as number;
  const recorded: Record<string, tf.Tensor> = {};
  const grads: Record<string, tf.Tensor> = {};
  const { loss, dlogits, newThetaAction, last } = policyActionGradient(net, fwd, batch, opts, thetaAction);
  const act = net.backwardAction(last.h, dlogits, true);
  grads.actionKeys = act.dActionKeys as tf.Tensor;
  let g: 0 | 1 = engine.setTopGradient(act.dh.dataSync() as Float32Array);
  const newTheta: tf.Tensor[] = new Array(L);
  let trueSq = 0;
  let synSq = 0;
  for (let l = L - 1; l >= 0; l--) {
    const th = theta[l] as tf.Tensor;
    if (opts.record) {
      recorded[`trueGrad.${l}`] = tf.tensor3d(engine.gradient(g), shapeBWq(net, b));
      recorded[`sgPrediction.${l}`] = tf.tensor3d(engine.read(l, "sgPred"), shapeBWq(net, b));
    }
    const mix = engine.mix(
      l,
      g,
      th.dataSync() as Float32Array,
      MODE_CODES[opts.mode],
      opts.adaptiveTheta,
      opts.thetaEps,
    );
    trueSq += mix.trueSq;
    synSq += mix.synSq;
    if (mix.thetaBatch !== undefined) {
      const thetaBatch = tf.tensor1d(mix.thetaBatch);
      newTheta[l] = tf.add(tf.mul(th, opts.thetaMomentum), tf.mul(thetaBatch, 1 - opts.thetaMomentum));
      if (opts.record) recorded[`thetaBatch.${l}`] = thetaBatch;
    } else {
      newTheta[l] = tf.clone(th);
    }
    if (opts.record) recorded[`mixedGrad.${l}`] = tf.tensor3d(engine.mixed(), shapeBWq(net, b));
    const r = engine.backward(l, "mixed", true);
    layerGradTensors(net, l, r.grads as NativeLayerGrads, grads);
    if (r.next !== undefined) g = r.next;
  }
  return {
    loss,
    grads,
    theta: newTheta,
    ...(newThetaAction !== undefined ? { thetaAction: newThetaAction } : {}),
    trueGradNorm: tf.scalar(Math.sqrt(trueSq)),
    syntheticGradNorm: tf.scalar(Math.sqrt(synSq)),
    recorded,
  };
}
