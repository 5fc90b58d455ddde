import * as tf from "@tensorflow/tfjs-core";
import type { BanditTensors } from "../bandit/loss.js";
import { banditLoss } from "../bandit/loss.js";
import { perNeuronOuter } from "../ops/perNeuron.js";
import type { SgMode } from "../sgprop/mixing.js";
import { mixWithSubstitute, sgSubstitute } from "../sgprop/mixing.js";
import { estimateThetaBatch } from "../sgprop/thetaEstimator.js";
import { nativeBackpropGradients, nativePolicyGradients, nativeSgPhase } from "./sgpropKernels.js";
import type { FeedforwardForward, FeedforwardLayerCache, FeedforwardSparseNet } from "./sparsenet.js";

/**
 * sgprop on the feed-forward FeedforwardSparseNet of the bandit (SPEC 4.4, 4.5; golden README section 5).
 * Each function returns new tensors in a plain record that the caller disposes; `record` adds the
 * intermediate values the golden files pin down (targets, predictions, true and mixed gradients).
 */

/** Options of the SG phase. */
export interface SgPhaseOptions {
  readonly mode: SgMode;
  /** Also fit the routing keys (hiddenKeys, actionKeys) with the SG loss; the paper freezes them. */
  readonly updateSharedKeys: boolean;
  readonly record: boolean;
}

/** Result of one SG step: the per-layer losses (L hidden, then the action head) and the gradients. */
export interface SgPhaseResult {
  /** [L + 1] losses: mean squared error per hidden layer, then the action head. */
  readonly losses: tf.Tensor;
  /** Gradients of the summed loss by canonical name (SG parameters, plus keys if updated). */
  readonly grads: Record<string, tf.Tensor>;
  /** hiddenTarget.<l>, sgPhasePred.<l>, actionTarget, sgPhaseActionPred when recording. */
  readonly recorded: Record<string, tf.Tensor>;
}

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
 * The SG phase's action head (shared by the tfjs and kernel paths): the action probabilities
 * route between per-action affine maps of flat(h_{L-1}); its target is dLoss/dlogits. Adds the
 * gradients (and recorded values) to the given records and returns the head's loss.
 */
export function sgActionHead(
  net: FeedforwardSparseNet,
  fwd: FeedforwardForward,
  dlogits: tf.Tensor,
  opts: SgPhaseOptions,
  grads: Record<string, tf.Tensor>,
  recorded: Record<string, tf.Tensor>,
): tf.Tensor {
  const { numLayers: L, width: w, neuronDim: q, numActions: a } = net.config;
  const last = fwd.layers[L - 1] as FeedforwardLayerCache;
  const b = dlogits.shape[0] as number;
  const pi = tf.softmax(fwd.logits, -1);
  const sp = net.actionSlotPredictions(last.h); // [B, A, A]
  const pred = tf.sum(tf.mul(tf.expandDims(pi, 2), sp), 1); // [B, A]
  const diff = tf.sub(pred, dlogits);
  const dpred = tf.mul(diff, 2 / (b * a));
  const dsp = tf.mul(tf.expandDims(pi, 2), tf.expandDims(dpred, 1)); // [B, A, A]
  const f = tf.reshape(last.h, [b, w * q]);
  const dActA = tf.reshape(tf.matMul(f, tf.reshape(dsp, [b, a * a]), true, false), [w * q, a, a]);
  grads["sg.actionA"] = tf.transpose(dActA, [1, 0, 2]);
  grads["sg.actionB"] = tf.sum(dsp, 0);
  if (opts.updateSharedKeys) {
    const dpi = tf.sum(tf.mul(sp, tf.expandDims(dpred, 1)), 2); // [B, A]
    const dlog = tf.mul(pi, tf.sub(dpi, tf.sum(tf.mul(pi, dpi), 1, true)));
    grads.actionKeys = tf.div(tf.matMul(dlog, f, true, false), Math.sqrt(w * q));
  }
  if (opts.record) {
    recorded.actionTarget = dlogits;
    recorded.sgPhaseActionPred = pred;
  }
  return tf.mean(tf.square(diff));
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

/** Options of the sgprop policy step. */
export interface PolicyStepOptions {
  readonly mode: SgMode;
  /** Update theta with the closed-form estimator (eq. 3) and momentum. */
  readonly adaptiveTheta: boolean;
  readonly thetaMomentum: number;
  /** Threshold of the estimator (1e-6 in the bandit). */
  readonly thetaEps: number;
  /** Mix at the action logits too (off in the paper's runs). */
  readonly mixActionLayer: boolean;
  readonly record: boolean;
}

/** Result of the sgprop or backprop policy gradient computation. */
export interface PolicyGradResult {
  readonly loss: tf.Scalar;
  /** Policy gradients by canonical name. */
  readonly grads: Record<string, tf.Tensor>;
  /** New theta per layer [W] (the input theta when not adaptive). */
  readonly theta: tf.Tensor[];
  /** Per-action theta after the step when the action layer is mixed. */
  readonly thetaAction?: tf.Tensor;
  /** sqrt(sum over layers of ||trueGrad_l||^2) and the same for the substitutes. */
  readonly trueGradNorm: tf.Scalar;
  readonly syntheticGradNorm: tf.Scalar;
  /** trueGrad.<l>, sgPrediction.<l>, mixedGrad.<l>, thetaBatch.<l> when recording. */
  readonly recorded: Record<string, tf.Tensor>;
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

/**
 * The policy step's gradient at the logits (shared by the tfjs and kernel paths): the bandit
 * loss's, mixed with the action head's prediction when the action layer is mixed (then with
 * the action theta's update too).
 */
export function policyActionGradient(
  net: FeedforwardSparseNet,
  fwd: FeedforwardForward,
  batch: BanditTensors,
  opts: PolicyStepOptions,
  thetaAction: tf.Tensor | undefined,
): { loss: tf.Scalar; dlogits: tf.Tensor; newThetaAction?: tf.Tensor; last: FeedforwardLayerCache } {
  const { loss, dlogits: dTrue } = banditLoss(fwd.logits, batch.actions, batch.rewards);
  const last = fwd.layers[net.config.numLayers - 1];
  if (last === undefined) throw new Error("empty forward");
  if (!opts.mixActionLayer) return { loss, dlogits: dTrue, last };
  if (thetaAction === undefined) throw new Error("mixActionLayer needs thetaAction");
  const pi = tf.softmax(fwd.logits, -1);
  const pred = tf.sum(tf.mul(tf.expandDims(pi, 2), net.actionSlotPredictions(last.h)), 1);
  const s = sgSubstitute(dTrue, pred, opts.mode);
  const dlogits = tf.add(tf.mul(thetaAction, dTrue), tf.mul(tf.sub(1, thetaAction), s));
  const newThetaAction = opts.adaptiveTheta
    ? tf.add(
        tf.mul(thetaAction, opts.thetaMomentum),
        tf.mul(
          estimateActionTheta(net, last.h, dTrue, s, thetaAction, opts.thetaEps),
          1 - opts.thetaMomentum,
        ),
      )
    : thetaAction;
  return { loss, dlogits, newThetaAction, last };
}

/**
 * Backpropagation's start (shared by the tfjs and kernel paths): the bandit loss, the actionKeys
 * gradient (in a fresh gradient record) and the gradient arriving at h_{L-1}.
 */
export function backpropActionHead(
  net: FeedforwardSparseNet,
  fwd: FeedforwardForward,
  batch: BanditTensors,
): { loss: tf.Scalar; grads: Record<string, tf.Tensor>; dh: tf.Tensor } {
  const { loss, dlogits } = banditLoss(fwd.logits, batch.actions, batch.rewards);
  const last = fwd.layers[net.config.numLayers - 1];
  if (last === undefined) throw new Error("empty forward");
  const act = net.backwardAction(last.h, dlogits, true);
  return { loss, grads: { actionKeys: act.dActionKeys as tf.Tensor }, dh: act.dh };
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

/**
 * eq. 3 for the action layer (only with mixActionLayer): the "neurons" are the actions, whose
 * parameters are the rows of actionKeys; per-sample gradients are g_a f / sqrt(W q). As in the
 * reference, the action-layer estimate uses the raw (not unit-normalised) gradients.
 */
function estimateActionTheta(
  net: FeedforwardSparseNet,
  h: tf.Tensor,
  g: tf.Tensor,
  s: tf.Tensor,
  thetaPrev: tf.Tensor,
  eps: number,
): tf.Tensor {
  const b = g.shape[0] as number;
  if (b <= 1) return tf.clone(thetaPrev);
  const { width: w, neuronDim: q } = net.config;
  const scale = 1 / Math.sqrt(w * q);
  const f = tf.reshape(h, [b, w * q]);
  const ff = tf.reshape(tf.mul(tf.sum(tf.square(f), 1), scale * scale), [b, 1]);
  const d = tf.sub(s, g); // [B, A]
  const meanDD = tf.mean(tf.mul(ff, tf.square(d)), 0);
  const meanWD = tf.mean(tf.mul(ff, tf.mul(g, d)), 0);
  const wbar = tf.div(tf.mul(tf.matMul(g, f, true, false), scale), b); // [A, Wq]
  const dbar = tf.div(tf.mul(tf.matMul(d, f, true, false), scale), b);
  const dbarSq = tf.sum(tf.square(dbar), 1);
  const v = tf.relu(tf.div(tf.sub(meanDD, dbarSq), b - 1));
  const c = tf.div(tf.sub(meanWD, tf.sum(tf.mul(wbar, dbar), 1)), b - 1);
  const b2 = tf.relu(tf.sub(dbarSq, v));
  const denom = tf.add(v, b2);
  const ok = tf.greater(denom, eps);
  const est = tf.clipByValue(tf.add(1, tf.div(c, tf.where(ok, denom, tf.onesLike(denom)))), 0, 1);
  return tf.where(ok, est, thetaPrev);
}
