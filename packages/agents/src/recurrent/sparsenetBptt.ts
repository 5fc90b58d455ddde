import * as tf from "@tensorflow/tfjs-core";
import { reinforceLoss } from "../reinforce/loss.js";
import type { SgMode } from "../sgprop/mixing.js";
import { RECURRENT_THETA_EPS } from "../sgprop/thetaEstimator.js";
import { slotActorLogits } from "./actor.js";
import type { LossTensors, SequenceBatch } from "./batch.js";
import { backwardParallel, startPredictions, startSgLoss } from "./corePool.js";
import { EMBEDDING_PARAMS, embedObservations } from "./embedding.js";
import { getParam, RecurrentInputError, type TensorMap } from "./params.js";
import { bpLambdaStateTargets } from "./sgTargets.js";
import {
  allocTrace,
  type CoreSizes,
  type CoreTrace,
  coreForwardSteps,
  sharedFloat32,
  traceRows,
  validRows as validRowIndices,
} from "./sparseCore.js";
import { canonicalSlotGrads, coreSizes, jsCoreMaps } from "./sparseMaps.js";
import { coreKernels, disposeKernels, type SparseNetPolicy } from "./sparsenet.js";
import { startRecurrentThetaBatch } from "./sparsenetTheta.js";

export type { SgMode };

export interface MixingOptions {
  /** Per-step mixing weights [T, W] row-major (see temporalThetaSchedule). */
  readonly thetaSchedule: ArrayLike<number>;
  readonly mode: SgMode;
  /** When given, the adaptive estimate (eq. 3) is computed with this fallback (the model's theta). */
  readonly thetaPrev?: ArrayLike<number>;
  readonly thetaEps?: number;
  /**
   * The SG predictors' target: absent, the mixed gradient gtilde (the paper); `{ lambda }`, BP(lambda)'s
   * lambda-return of the gradient at H_t (eq. 11, see sgTargets.ts), whatever theta mixes.
   */
  readonly bpLambda?: { readonly lambda: number };
}

export interface BpttOptions {
  /** Omit for plain BPTT. */
  readonly mixing?: MixingOptions;
  /** Initial state [B, W, q] (default zeros). */
  readonly initialHidden?: tf.Tensor;
  /** Keep logits, log-probabilities, entropy and the [T, B, W, q] gradient records for inspection. */
  readonly record?: boolean;
  readonly entropyCoef: number;
  /**
   * Forward rows already computed with the same parameters (the rollout's): steps 0..steps-1 of
   * `trace` are used as they are and only the remaining steps are computed.
   */
  readonly forward?: { readonly trace: CoreTrace; readonly steps: number };
}

export interface BpttRecord {
  /** [T*B, A] */
  readonly logits: tf.Tensor2D;
  readonly logProbs: tf.Tensor1D;
  readonly entropy: tf.Tensor1D;
  /** [T, B, W, q] (sgprop only) */
  readonly trueGrad?: tf.Tensor4D;
  readonly mixedGrad?: tf.Tensor4D;
  readonly sgPrediction?: tf.Tensor4D;
}

export interface BpttResult {
  readonly totalLoss: number;
  readonly policyLoss: number;
  readonly entropyLoss: number;
  /** Gradients of totalLoss (mixed in sgprop) for every policy parameter, canonical shapes. */
  readonly grads: TensorMap;
  /** SG regression loss and its gradients for sgA, sgB (sgprop only). */
  readonly sgLoss?: number;
  readonly sgGrads?: TensorMap;
  /** Adaptive estimate (when `thetaPrev` was given). */
  readonly thetaBatch?: Float64Array;
  /** Mean over valid rows and neurons of the L2 norm over q of the gradient at H_t (true, mixed, predicted). */
  readonly trueGradNorm: number;
  readonly mixedGradNorm: number;
  readonly predGradNorm: number;
  readonly record?: BpttRecord;
}

/** Runs a tfjs computation and returns its values, releasing every tensor. */
function download(f: () => tf.Tensor): Float32Array {
  const t = tf.tidy(f);
  const data = t.dataSync() as Float32Array;
  t.dispose();
  return data;
}

function countValid(valid: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < valid.length; i++) if (valid[i]) n++;
  return n;
}

/**
 * Loss, gradients and (in sgprop) the SG-mixed backward pass of the recurrent SparseNet over a
 * whole rollout (golden README 3). The neuron core runs in typed-array loops (sparseCore.ts): the
 * forward keeps per-step inputs, routing weights and slot outputs, and the backward records the
 * gradient arriving at every H_t and replaces it by the mix before it continues into step t's maps
 * and into H_{t-1}. The embedding, the input neurons' embedding maps and the actor (functions of
 * all steps at once) use large tfjs matmuls and tfjs autodiff.
 */
export function sparseNetBptt(
  policy: SparseNetPolicy,
  batch: SequenceBatch,
  lt: LossTensors,
  opts: BpttOptions,
): BpttResult {
  const d = policy.dims;
  const s: CoreSizes = coreSizes(d);
  const { W, q, C, Mq } = d;
  const T = batch.numSteps;
  const B = batch.numEnvs;
  const R = T * B;
  const mixing = opts.mixing;
  if (mixing !== undefined && mixing.thetaSchedule.length !== T * W) {
    throw new RecurrentInputError(
      `thetaSchedule has ${mixing.thetaSchedule.length} entries, expected ${T} x ${W}`,
    );
  }
  const p = policy.params;
  const sgprop = mixing !== undefined;
  const maps = jsCoreMaps(p, policy.parentIdx, d, sgprop);
  const k = coreKernels(policy.config, p, policy.parentIdx, sgprop);
  const embedParams = EMBEDDING_PARAMS.map((name) => getParam(p, name));
  const embedFn = (...xs: tf.Tensor[]) =>
    embedObservations(lt.obs, xs[0] as tf.Tensor, xs[1] as tf.Tensor, xs[2] as tf.Tensor, xs[3] as tf.Tensor);
  const e = tf.tidy(() => embedFn(...embedParams));
  try {
    // The embedding rows on shared memory: the kernels form the input neurons' embedding terms and
    // their gradients from them on both threads.
    const emb = sharedFloat32(R * d.E);
    emb.set(e.dataSync());
    const keep = new Float32Array(R);
    for (let r = 0; r < R; r++) keep[r] = 1 - (batch.episodeStarts[r] as number);
    // Forward through time from the first step the rollout did not already compute; the embedding
    // terms of the input neurons for those rows come from one matmul.
    const given = opts.forward;
    const trace = given !== undefined ? traceRows(given.trace, s, R) : allocTrace(s, R);
    const firstStep = given !== undefined ? Math.min(given.steps, T) : 0;
    const extIn =
      firstStep < T
        ? download(() =>
            tf.matMul(
              firstStep === 0 ? e : tf.slice(e, [firstStep * B, 0], [(T - firstStep) * B, d.E]),
              k.wEmb,
            ),
          )
        : new Float32Array(0);
    const h0 =
      opts.initialHidden !== undefined
        ? (opts.initialHidden.dataSync() as Float32Array)
        : new Float32Array(B * W * q);
    coreForwardSteps(s, maps, h0, keep, extIn, trace, firstStep, T, B);
    // SG predictions on the worker while this thread runs the actor in tfjs.
    const predPending = sgprop
      ? startPredictions(
          s,
          maps.sgParT as Float32Array,
          maps.sgBias as Float32Array,
          { emb, maps: Float32Array.from((k.sgEmb as tf.Tensor2D).dataSync()) },
          trace,
        )
      : undefined;
    // Actor and loss over all steps; the gradient at every H_t comes from tfjs autodiff.
    const actorParams = ["actorKeys", "actorA", "actorB"].map((name) => getParam(p, name));
    const lossInputs = {
      actionsOneHot: lt.actionsOneHot,
      normalizedReturns: lt.normalizedReturns,
      valid: lt.valid,
      entropyCoef: opts.entropyCoef,
    };
    const actor = tf.tidy(() => {
      const hFlat = tf.tensor2d(trace.h, [R, W * q]);
      const lossFn = (...xs: tf.Tensor[]) =>
        reinforceLoss(
          slotActorLogits(xs[0] as tf.Tensor2D, xs[1] as tf.Tensor, xs[2] as tf.Tensor, xs[3] as tf.Tensor),
          lossInputs,
        ).totalLoss;
      const grads = tf.grads(lossFn)([hFlat, ...actorParams]);
      const logits = slotActorLogits(
        hFlat,
        actorParams[0] as tf.Tensor,
        actorParams[1] as tf.Tensor,
        actorParams[2] as tf.Tensor,
      );
      const loss = reinforceLoss(logits, lossInputs);
      return {
        dH: grads[0] as tf.Tensor,
        actorKeys: grads[1] as tf.Tensor,
        actorA: grads[2] as tf.Tensor,
        actorB: grads[3] as tf.Tensor,
        scalars: tf.stack([loss.totalLoss, loss.policyLoss, loss.entropyLoss]),
        logits,
        logProbs: loss.logProbs,
        entropy: loss.entropy,
      };
    });
    const dActor = actor.dH.dataSync() as Float32Array;
    actor.dH.dispose();
    const lossScalars = actor.scalars.dataSync();
    actor.scalars.dispose();

    const pred = predPending?.finish();
    const back = backwardParallel(
      s,
      maps,
      trace,
      dActor,
      keep,
      T,
      B,
      mixing !== undefined && pred !== undefined
        ? { theta: mixing.thetaSchedule, positiveProjection: mixing.mode === "positive_projection", pred }
        : undefined,
      { emb, maps: Float32Array.from(k.wEmb.dataSync()) },
    );

    // The SG loss (both halves) and half of the eq. 3 sums on the worker while this thread forms
    // the parameter gradients.
    const validRows = validRowIndices(batch.valid, R);
    const sgTarget =
      mixing?.bpLambda !== undefined && pred !== undefined
        ? bpLambdaStateTargets(s, maps, trace, dActor, keep, T, B, pred, batch.valid, mixing.bpLambda.lambda)
        : back.mixedGrad;
    const sgPending =
      mixing !== undefined && pred !== undefined
        ? startSgLoss(s, trace, pred, sgTarget, batch.valid, emb)
        : undefined;
    const thetaPending =
      mixing?.thetaPrev !== undefined && pred !== undefined
        ? startRecurrentThetaBatch(
            s,
            trace,
            back.trueGrad,
            back.substitute as Float32Array,
            validRows,
            emb,
            mixing.thetaPrev,
            mixing.thetaEps ?? RECURRENT_THETA_EPS,
          )
        : undefined;

    // Parameter gradients of the core and the embedding.
    const grads: TensorMap = new Map();
    const embedGrads = tf.tidy(() =>
      tf.grads(embedFn)(embedParams, tf.tensor2d(back.de as Float32Array, [R, d.E])),
    );
    const core = canonicalSlotGrads(back.dwPar, back.dWemb as Float64Array, d, true);
    EMBEDDING_PARAMS.forEach((name, i) => {
      grads.set(name, embedGrads[i] as tf.Tensor);
    });
    grads.set("neuronKeys", tf.tensor3d(core.keys as Float32Array, [W, d.M, d.D]));
    grads.set("policyA", tf.tensor4d(core.a, [W, d.M, q, d.D]));
    const dB = new Float32Array(W * Mq);
    for (let i = 0; i < W; i++) for (let c = 0; c < Mq; c++) dB[i * Mq + c] = back.dBias[i * C + c] as number;
    grads.set("policyB", tf.tensor3d(dB, [W, d.M, q]));
    grads.set("actorKeys", actor.actorKeys);
    grads.set("actorA", actor.actorA);
    grads.set("actorB", actor.actorB);

    // Diagnostics as the reference logs them: per-neuron norms over q, mean over valid rows and neurons.
    const valid = Uint8Array.from(batch.valid as ArrayLike<number>);
    const nValid = countValid(valid);
    const normMean = (x: Float32Array) => {
      let total = 0;
      for (let r = 0; r < R; r++) {
        if (valid[r] === 0) continue;
        let o = r * W * q;
        for (let i = 0; i < W; i++, o += q) {
          let sq = 0;
          for (let j = 0; j < q; j++) {
            const v = x[o + j] as number;
            sq += v * v;
          }
          total += Math.sqrt(sq);
        }
      }
      return total / Math.max(nValid * W, 1);
    };
    const trueGradNorm = normMean(back.trueGrad);
    const mixedGradNorm = normMean(back.mixedGrad);
    const predGradNorm = pred !== undefined ? normMean(pred) : 0;

    // This thread's half of the eq. 3 sums first: the worker is still on the SG loss.
    const thetaBatch = thetaPending?.finish();
    let sgLoss: number | undefined;
    let sgGrads: TensorMap | undefined;
    if (sgPending !== undefined) {
      const sg = sgPending.finish();
      sgLoss = sg.loss;
      const sgA = canonicalSlotGrads(sg.dsgPar, sg.dsgEmb, d, false);
      sgGrads = new Map<string, tf.Tensor>([
        ["sgA", tf.tensor4d(sgA.a, [W, d.M, q, d.D])],
        ["sgB", tf.tensor3d(Float32Array.from(sg.dsgBias), [W, d.M, q])],
      ]);
    }
    let record: BpttRecord | undefined;
    if (opts.record) {
      record = {
        logits: actor.logits,
        logProbs: actor.logProbs,
        entropy: actor.entropy,
        ...(sgprop
          ? {
              trueGrad: tf.tensor4d(back.trueGrad, [T, B, W, q]),
              mixedGrad: tf.tensor4d(back.mixedGrad, [T, B, W, q]),
              sgPrediction: tf.tensor4d(pred as Float32Array, [T, B, W, q]),
            }
          : {}),
      };
    } else {
      actor.logits.dispose();
      actor.logProbs.dispose();
      actor.entropy.dispose();
    }
    return {
      totalLoss: lossScalars[0] as number,
      policyLoss: lossScalars[1] as number,
      entropyLoss: lossScalars[2] as number,
      trueGradNorm,
      mixedGradNorm,
      predGradNorm,
      grads,
      ...(sgGrads !== undefined && sgLoss !== undefined ? { sgGrads, sgLoss } : {}),
      ...(thetaBatch !== undefined ? { thetaBatch } : {}),
      ...(record !== undefined ? { record } : {}),
    };
  } finally {
    e.dispose();
    disposeKernels(k);
  }
}
