/**
 * What the two paths of feed-forward sgprop share: sgprop.ts (the tfjs reference) and
 * sgpropKernels.ts (the kernel path) take the same options and return the same results, and both
 * run the action head in tfjs with the functions below.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BanditTensors } from "../bandit/loss.js";
import { banditLoss } from "../bandit/loss.js";
import type { SgMode } from "../sgprop/mixing.js";
import { sgSubstitute } from "../sgprop/mixing.js";
import { thetaFromMomentsTensor } from "../sgprop/thetaEstimator.js";
import type { FeedforwardSparseNet } from "./sparsenet.js";
import type { FeedforwardForward, FeedforwardLayerCache } from "./sparsenetTrace.js";

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
  // Definition 1 at the logits, one theta per action (broadcast over the batch, no neuron axis).
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
  return thetaFromMomentsTensor(b, meanDD, meanWD, dbarSq, tf.sum(tf.mul(wbar, dbar), 1), thetaPrev, eps);
}
