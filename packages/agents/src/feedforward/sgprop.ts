import * as tf from "@tensorflow/tfjs-core";
import type { BanditTensors } from "../bandit/loss.js";
import { banditLoss } from "../bandit/loss.js";
import { perNeuronOuter } from "../ops/perNeuron.js";
import { mixWithSubstitute, sgSubstitute } from "../sgprop/mixing.js";
import { estimateThetaBatch } from "../sgprop/thetaEstimator.js";
import { nativeBackpropGradients, nativePolicyGradients, nativeSgPhase } from "./sgpropKernels.js";
import {
  backpropActionHead,
  type PolicyGradResult,
  type PolicyStepOptions,
  policyActionGradient,
  type SgPhaseOptions,
  type SgPhaseResult,
  sgActionHead,
} from "./sgpropShared.js";
import type { FeedforwardSparseNet } from "./sparsenet.js";
import type { FeedforwardForward, FeedforwardLayerCache } from "./sparsenetTrace.js";

/**
 * sgprop on the feed-forward FeedforwardSparseNet of the bandit (SPEC 4.4, 4.5; golden README section 5).
 * Each function returns new tensors in a plain record that the caller disposes; `record` adds the
 * intermediate values the golden files pin down (targets, predictions, true and mixed gradients).
 */

/**
 * The SG phase on one batch: builds the targets top-down (the gradient arriving at h_l, where the
 * gradient continuing from h_{l+1} was mixed with layer l+1's current prediction and theta),
 * regresses every predictor onto its target (mean squared error, summed over layers and the
 * action head) and returns the gradients. `fwd` must carry the SG predictions (forward(x, true)).
 */
export function sgPhaseGradients(
  net: FeedforwardSparseNet,
  fwd: FeedforwardForward,
  batch: BanditTensors,
  theta: readonly tf.Tensor[],
  opts: SgPhaseOptions,
): SgPhaseResult {
  if (fwd.native !== undefined && !opts.updateSharedKeys) return nativeSgPhase(net, fwd, batch, theta, opts);
  const { numLayers: L, width: w, neuronDim: q, numSlots: m } = net.config;
  const b = batch.x.shape[0] as number;
  const recorded: Record<string, tf.Tensor> = {};
  const grads: Record<string, tf.Tensor> = {};
  const losses: tf.Tensor[] = [];
  const { dlogits } = banditLoss(fwd.logits, batch.actions, batch.rewards);
  const last = fwd.layers[L - 1];
  if (last === undefined) throw new Error("empty forward");
  let g = net.backwardAction(last.h, dlogits, false).dh;
  const targets: tf.Tensor[] = new Array(L);
  for (let l = L - 1; l >= 0; l--) {
    targets[l] = g;
    if (l === 0) break;
    const cache = fwd.layers[l];
    if (cache?.sgPred === undefined)
      throw new Error("sgPhaseGradients needs a forward pass with SG predictions");
    const s = sgSubstitute(g, cache.sgPred, opts.mode);
    const mixed = mixWithSubstitute(g, s, theta[l] as tf.Tensor);
    g = net.backwardLayer(l, cache, mixed, false).dhPrev as tf.Tensor;
  }
  for (let l = 0; l < L; l++) {
    const cache = fwd.layers[l];
    if (cache?.sgPred === undefined || cache.sgLin === undefined) throw new Error("missing SG predictions");
    const target = targets[l] as tf.Tensor;
    const diff = tf.sub(cache.sgPred, target);
    losses.push(tf.mean(tf.square(diff)));
    const dpred = tf.mul(diff, 2 / (b * w * q));
    const dlin = tf.mul(tf.expandDims(cache.alpha, 3), tf.expandDims(dpred, 2)); // [B, W, M, q]
    const dA = sgLayerWeightGradient(net, dlin, dpred, cache, opts.updateSharedKeys);
    if (opts.updateSharedKeys) {
      grads[`hiddenKeys.${l}`] = tf.slice(dA, [0, 0, 0], [w, m, net.nd]);
      grads[`sg.hiddenA.${l}`] = tf.reshape(tf.slice(dA, [0, m, 0], [w, m * q, net.nd]), [w, m, q, net.nd]);
    } else {
      grads[`sg.hiddenA.${l}`] = tf.reshape(dA, [w, m, q, net.nd]);
    }
    grads[`sg.hiddenB.${l}`] = tf.sum(dlin, 0);
    if (opts.record) {
      recorded[`hiddenTarget.${l}`] = target;
      recorded[`sgPhasePred.${l}`] = cache.sgPred;
    }
  }
  losses.push(sgActionHead(net, fwd, dlogits, opts, grads, recorded));
  return { losses: tf.stack(losses), grads, recorded };
}

/**
 * Per-neuron weight gradient of one layer's SG loss: the SG slot maps always; with shared-key
 * updates also the keys, through the routing weights (d alpha_s = <dpred, lin_s>).
 */
function sgLayerWeightGradient(
  net: FeedforwardSparseNet,
  dlin: tf.Tensor,
  dpred: tf.Tensor,
  cache: FeedforwardLayerCache,
  keys: boolean,
): tf.Tensor {
  const { width: w, neuronDim: q, numSlots: m } = net.config;
  const b = dlin.shape[0] as number;
  const flatLin = tf.reshape(dlin, [b, w, m * q]);
  if (!keys) return perNeuronOuter(flatLin, cache.u);
  const dalpha = tf.sum(tf.mul(tf.expandDims(dpred, 2), cache.sgLin as tf.Tensor), 3); // [B, W, M]
  const dlogit = tf.mul(cache.alpha, tf.sub(dalpha, tf.sum(tf.mul(cache.alpha, dalpha), 2, true)));
  return perNeuronOuter(tf.concat([tf.div(dlogit, Math.sqrt(net.nd)), flatLin], 2), cache.u);
}

/**
 * The sgprop policy step's gradients: backpropagate the bandit loss and, at every hidden output
 * h_l, replace the arriving gradient g by theta_l g + (1 - theta_l) s (Definition 1), where s comes
 * from the current SG predictions. With adaptive theta, each layer's thetaBatch is estimated from
 * (g, s) inside the backward pass and theta_l <- mu theta_l + (1 - mu) thetaBatch; the mix itself
 * uses the old theta. Pass thetaAction only when mixing the action layer.
 */
export function sgpropPolicyGradients(
  net: FeedforwardSparseNet,
  fwd: FeedforwardForward,
  batch: BanditTensors,
  theta: readonly tf.Tensor[],
  opts: PolicyStepOptions,
  thetaAction?: tf.Tensor,
): PolicyGradResult {
  if (fwd.native !== undefined) return nativePolicyGradients(net, fwd, batch, theta, opts, thetaAction);
  const L = net.config.numLayers;
  const recorded: Record<string, tf.Tensor> = {};
  const grads: Record<string, tf.Tensor> = {};
  const { loss, dlogits, newThetaAction, last } = policyActionGradient(net, fwd, batch, opts, thetaAction);
  const act = net.backwardAction(last.h, dlogits, true);
  grads.actionKeys = act.dActionKeys as tf.Tensor;
  let g = act.dh;
  const newTheta: tf.Tensor[] = new Array(L);
  const trueSq: tf.Tensor[] = [];
  const synSq: tf.Tensor[] = [];
  for (let l = L - 1; l >= 0; l--) {
    const cache = fwd.layers[l];
    if (cache?.sgPred === undefined)
      throw new Error("sgpropPolicyGradients needs SG predictions in the forward cache");
    const th = theta[l] as tf.Tensor;
    const s = sgSubstitute(g, cache.sgPred, opts.mode);
    const mixed = mixWithSubstitute(g, s, th);
    trueSq.push(tf.sum(tf.square(g)));
    synSq.push(tf.sum(tf.square(s)));
    if (opts.adaptiveTheta) {
      const scale = cache.tanhOut ? tf.sub(1, tf.square(cache.tanhOut)) : undefined;
      const thetaBatch = estimateThetaBatch({
        g: scale ? tf.mul(g, scale) : g,
        s: scale ? tf.mul(s, scale) : s,
        u: cache.u,
        alpha: cache.alpha,
        y: cache.y,
        thetaPrev: th,
        eps: opts.thetaEps,
      });
      newTheta[l] = tf.add(tf.mul(th, opts.thetaMomentum), tf.mul(thetaBatch, 1 - opts.thetaMomentum));
      if (opts.record) recorded[`thetaBatch.${l}`] = thetaBatch;
    } else {
      newTheta[l] = tf.clone(th);
    }
    if (opts.record) {
      recorded[`trueGrad.${l}`] = g;
      recorded[`sgPrediction.${l}`] = cache.sgPred;
      recorded[`mixedGrad.${l}`] = mixed;
    }
    const r = net.backwardLayer(l, cache, mixed, true);
    const lg = r.grads;
    if (lg === undefined) throw new Error("missing layer gradients");
    grads[`hiddenKeys.${l}`] = lg.keys;
    grads[`hiddenA.${l}`] = lg.A;
    grads[`hiddenB.${l}`] = lg.b;
    if (r.dhPrev !== undefined) g = r.dhPrev;
  }
  return {
    loss,
    grads,
    theta: newTheta,
    ...(newThetaAction !== undefined ? { thetaAction: newThetaAction } : {}),
    trueGradNorm: tf.sqrt(tf.addN(trueSq)) as tf.Scalar,
    syntheticGradNorm: tf.sqrt(tf.addN(synSq)) as tf.Scalar,
    recorded,
  };
}

/** Plain backpropagation gradients of the bandit loss (theta = 1 everywhere, no SG). */
export function backpropPolicyGradients(
  net: FeedforwardSparseNet,
  fwd: FeedforwardForward,
  batch: BanditTensors,
): { loss: tf.Scalar; grads: Record<string, tf.Tensor>; trueGradNorm: tf.Scalar } {
  if (fwd.native !== undefined) return nativeBackpropGradients(net, fwd, batch);
  const L = net.config.numLayers;
  const { loss, grads, dh } = backpropActionHead(net, fwd, batch);
  let g = dh;
  const trueSq: tf.Tensor[] = [];
  for (let l = L - 1; l >= 0; l--) {
    const cache = fwd.layers[l];
    if (cache === undefined) throw new Error("missing layer");
    trueSq.push(tf.sum(tf.square(g)));
    const r = net.backwardLayer(l, cache, g, true);
    const lg = r.grads as NonNullable<typeof r.grads>;
    grads[`hiddenKeys.${l}`] = lg.keys;
    grads[`hiddenA.${l}`] = lg.A;
    grads[`hiddenB.${l}`] = lg.b;
    if (r.dhPrev !== undefined) g = r.dhPrev;
  }
  return { loss, grads, trueGradNorm: tf.sqrt(tf.addN(trueSq)) as tf.Scalar };
}
