import * as tf from "@tensorflow/tfjs-core";
import { reinforceLoss } from "../reinforce/loss.js";
import { mixWithSubstitute, type SgMode, sgSubstitute } from "../sgprop/mixing.js";
import { slotActorLogits } from "./actor.js";
import type { LossTensors, SequenceBatch } from "./batch.js";
import { EMBEDDING_PARAMS, embedObservations } from "./embedding.js";
import { getParam, RecurrentInputError, type TensorMap } from "./params.js";
import {
  type CoreKernels,
  type CoreStep,
  coreKernels,
  coreStep,
  coreStepBackward,
  disposeKernels,
  externalTerm,
  type SparseNetPolicy,
  scatterParents,
} from "./sparsenet.js";
import { estimateRecurrentThetaBatch, RECURRENT_THETA_EPS } from "./thetaEstimator.js";

export type { SgMode };

export interface MixingOptions {
  /** Per-step mixing weights [T, W] row-major (see temporalThetaSchedule). */
  readonly thetaSchedule: ArrayLike<number>;
  readonly mode: SgMode;
  /** When given, the adaptive estimate (eq. 3) is computed with this fallback (the model's theta). */
  readonly thetaPrev?: ArrayLike<number>;
  readonly thetaEps?: number;
}

export interface BpttOptions {
  /** Omit for plain BPTT. */
  readonly mixing?: MixingOptions;
  /** Initial state [B, W, q] (default zeros). */
  readonly initialHidden?: tf.Tensor;
  /** Keep logits, log-probabilities, entropy and the [T, B, W, q] gradient records for inspection. */
  readonly record?: boolean;
  readonly entropyCoef: number;
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

/** [W, T*B, ...] from T tensors [W, B, ...]. */
function neuronMajor(steps: tf.Tensor[]): tf.Tensor {
  const stacked = tf.stack(steps, 1);
  const [w, t, b, ...rest] = stacked.shape;
  return tf.reshape(stacked, [w as number, (t as number) * (b as number), ...rest]);
}

/** [T, B, W, q] from T tensors [W, B, q]. */
function timeMajorRecord(steps: tf.Tensor[]): tf.Tensor4D {
  return tf.transpose(tf.stack(steps, 0), [0, 2, 1, 3]) as tf.Tensor4D;
}

/** Canonical [W, M, q, D] gradient from the parent part [W, Pq, Mq] and the embedding part [E, Ni*cols]. */
function slotMapGrad(
  par: tf.Tensor3D,
  emb: tf.Tensor2D,
  k: CoreKernels,
  cols: number,
  colFrom: number,
  colCount: number,
  shape: "A" | "keys",
): tf.Tensor {
  const { W, M, q, Pq, E, Ni } = k.dims;
  const lead = shape === "A" ? [M, q] : [M];
  const parPart = tf.reshape(tf.transpose(tf.slice(par, [0, 0, colFrom], [W, Pq, colCount]), [0, 2, 1]), [
    W,
    ...lead,
    Pq,
  ]);
  const e3 = tf.slice(tf.reshape(emb, [E, Ni, cols]), [0, 0, colFrom], [E, Ni, colCount]);
  let embPart = tf.reshape(tf.transpose(e3, [1, 2, 0]), [Ni, ...lead, E]);
  if (Ni < W) embPart = tf.concat([embPart, tf.zeros([W - Ni, ...lead, E])], 0);
  return tf.concat([parPart, embPart], lead.length + 1);
}

/**
 * Loss, gradients and (in sgprop) the SG-mixed backward pass of the recurrent SparseNet over a
 * whole rollout (golden README 3). The forward keeps per-step inputs, routing weights and slot
 * outputs; the backward is written out so that the gradient arriving at every H_t can be recorded
 * and replaced by the mix before it continues into step t's parameters and into H_{t-1}. The
 * embedding and the actor (functions of all steps at once) use tfjs autodiff.
 */
export function sparseNetBptt(
  policy: SparseNetPolicy,
  batch: SequenceBatch,
  lt: LossTensors,
  opts: BpttOptions,
): BpttResult {
  const d = policy.dims;
  const { W, q } = d;
  const T = batch.numSteps;
  const B = batch.numEnvs;
  const mixing = opts.mixing;
  if (mixing !== undefined && mixing.thetaSchedule.length !== T * W) {
    throw new RecurrentInputError(
      `thetaSchedule has ${mixing.thetaSchedule.length} entries, expected ${T} x ${W}`,
    );
  }
  const p = policy.params;
  const k = coreKernels(policy.config, p, policy.parentIdx, mixing !== undefined);
  try {
    let thetaBatch: Float64Array | undefined;
    const result = tf.tidy(() => {
      const embedParams = EMBEDDING_PARAMS.map((name) => getParam(p, name));
      const embedFn = (...xs: tf.Tensor[]) =>
        embedObservations(
          lt.obs,
          xs[0] as tf.Tensor,
          xs[1] as tf.Tensor,
          xs[2] as tf.Tensor,
          xs[3] as tf.Tensor,
        );
      const e = embedFn(...embedParams);
      const extAll = tf.unstack(
        tf.reshape(externalTerm(e, k.wEmb, k.bias, d, d.C), [W, T, B, d.C]),
        1,
      ) as tf.Tensor3D[];
      const starts = Float32Array.from(batch.episodeStarts as ArrayLike<number>);
      const keeps: tf.Tensor3D[] = [];
      for (let t = 0; t < T; t++) {
        keeps.push(
          tf.reshape(tf.sub(1, tf.tensor1d(starts.subarray(t * B, (t + 1) * B))), [1, B, 1]) as tf.Tensor3D,
        );
      }
      // Forward.
      let h: tf.Tensor3D =
        opts.initialHidden !== undefined
          ? (tf.transpose(opts.initialHidden, [1, 0, 2]) as tf.Tensor3D)
          : (tf.zeros([W, B, q]) as tf.Tensor3D);
      const steps: CoreStep[] = [];
      for (let t = 0; t < T; t++) {
        const prev = h;
        const s = tf.tidy(
          () =>
            coreStep(
              tf.mul(prev, keeps[t] as tf.Tensor3D) as tf.Tensor3D,
              extAll[t] as tf.Tensor3D,
              k,
            ) as unknown as tf.TensorContainer,
        ) as unknown as CoreStep;
        steps.push(s);
        h = s.h;
      }
      // Actor and loss over all steps at once; dF gives the actor's gradient at every H_t.
      const hFlat = tf.reshape(
        tf.transpose(
          tf.stack(
            steps.map((s) => s.h),
            0,
          ),
          [0, 2, 1, 3],
        ),
        [T * B, W * q],
      ) as tf.Tensor2D;
      const actorParams = ["actorKeys", "actorA", "actorB"].map((name) => getParam(p, name));
      const lossInputs = {
        actionsOneHot: lt.actionsOneHot,
        normalizedReturns: lt.normalizedReturns,
        valid: lt.valid,
        entropyCoef: opts.entropyCoef,
      };
      const lossFn = (...xs: tf.Tensor[]) =>
        reinforceLoss(
          slotActorLogits(xs[0] as tf.Tensor2D, xs[1] as tf.Tensor, xs[2] as tf.Tensor, xs[3] as tf.Tensor),
          lossInputs,
        ).totalLoss;
      const actorGrads = tf.grads(lossFn)([hFlat, ...actorParams]);
      const logits = slotActorLogits(
        hFlat,
        actorParams[0] as tf.Tensor,
        actorParams[1] as tf.Tensor,
        actorParams[2] as tf.Tensor,
      );
      const loss = reinforceLoss(logits, lossInputs);
      const dActor = tf.unstack(
        tf.transpose(tf.reshape(actorGrads[0] as tf.Tensor, [T, B, W, q]), [0, 2, 1, 3]),
      ) as tf.Tensor3D[];

      // SG predictions for all steps from the same inputs (u and alpha are constants for them).
      const alphaAll = neuronMajor(steps.map((s) => s.alpha)) as tf.Tensor3D;
      const uParAll = neuronMajor(steps.map((s) => s.uPar)) as tf.Tensor3D;
      let predSteps: tf.Tensor3D[] = [];
      let predAll: tf.Tensor3D | undefined;
      if (mixing !== undefined) {
        const sgExt = externalTerm(e, k.sgEmb as tf.Tensor2D, k.sgBias as tf.Tensor3D, d, d.Mq);
        const zs = tf.reshape(tf.add(tf.matMul(uParAll, k.sgPar as tf.Tensor3D), sgExt), [W, T * B, d.M, q]);
        predAll = tf.sum(tf.mul(tf.expandDims(alphaAll, 3), zs), 2) as tf.Tensor3D;
        predSteps = tf.unstack(tf.reshape(predAll, [W, T, B, q]), 1) as tf.Tensor3D[];
      }
      const thetaSteps: tf.Tensor2D[] = [];
      if (mixing !== undefined) {
        const th = Float32Array.from(mixing.thetaSchedule);
        for (let t = 0; t < T; t++) thetaSteps.push(tf.tensor2d(th.subarray(t * W, (t + 1) * W), [W, 1]));
      }

      // Backward through time with the mix at every H_t (valid or not).
      const dzcSteps: tf.Tensor3D[] = new Array(T);
      const trueSteps: tf.Tensor3D[] = new Array(T);
      const mixedSteps: tf.Tensor3D[] = new Array(T);
      const subSteps: tf.Tensor3D[] = new Array(T);
      let carry: tf.Tensor3D | undefined;
      for (let t = T - 1; t >= 0; t--) {
        const incoming = carry;
        const out = tf.tidy(() => {
          const g = (
            incoming === undefined
              ? (dActor[t] as tf.Tensor3D).clone()
              : tf.add(dActor[t] as tf.Tensor3D, incoming)
          ) as tf.Tensor3D;
          let mixed = g;
          let sub: tf.Tensor3D | undefined;
          if (mixing !== undefined) {
            const pred = predSteps[t] as tf.Tensor3D;
            sub = (mixing.mode === "prediction" ? pred : sgSubstitute(g, pred, mixing.mode)) as tf.Tensor3D;
            mixed = mixWithSubstitute(g, sub, thetaSteps[t] as tf.Tensor2D) as tf.Tensor3D;
          }
          const back = coreStepBackward(steps[t] as CoreStep, mixed, k);
          const next =
            t > 0
              ? (tf.mul(scatterParents(back.duPar, k), keeps[t] as tf.Tensor3D) as tf.Tensor3D)
              : undefined;
          return { g, mixed, sub, dzc: back.dzc, next } as unknown as tf.TensorContainer;
        }) as unknown as {
          g: tf.Tensor3D;
          mixed: tf.Tensor3D;
          sub?: tf.Tensor3D;
          dzc: tf.Tensor3D;
          next?: tf.Tensor3D;
        };
        dzcSteps[t] = out.dzc;
        trueSteps[t] = out.g;
        mixedSteps[t] = out.mixed;
        if (out.sub !== undefined) subSteps[t] = out.sub;
        carry = out.next;
      }

      // Parameter gradients of the core, summed over steps with one batched matmul per map.
      const dzcAll = neuronMajor(dzcSteps) as tf.Tensor3D;
      const dWpar = tf.matMul(uParAll, dzcAll, true, false) as tf.Tensor3D;
      const dzcIn = tf.reshape(tf.transpose(tf.slice(dzcAll, [0, 0, 0], [d.Ni, T * B, d.C]), [1, 0, 2]), [
        T * B,
        d.Ni * d.C,
      ]) as tf.Tensor2D;
      const dWemb = tf.matMul(e, dzcIn, true, false) as tf.Tensor2D;
      const de = tf.matMul(dzcIn, k.wEmb, false, true);
      const embedGrads = tf.grads(embedFn)(embedParams, de);
      const grads: Record<string, tf.Tensor> = {};
      EMBEDDING_PARAMS.forEach((name, i) => {
        grads[name] = embedGrads[i] as tf.Tensor;
      });
      grads.neuronKeys = slotMapGrad(dWpar, dWemb, k, d.C, d.Mq, d.M, "keys");
      grads.policyA = slotMapGrad(dWpar, dWemb, k, d.C, 0, d.Mq, "A");
      grads.policyB = tf.reshape(tf.sum(tf.slice(dzcAll, [0, 0, 0], [W, T * B, d.Mq]), 1), [W, d.M, q]);
      grads.actorKeys = actorGrads[1] as tf.Tensor;
      grads.actorA = actorGrads[2] as tf.Tensor;
      grads.actorB = actorGrads[3] as tf.Tensor;

      // Diagnostics over valid rows.
      const validRow = tf.reshape(lt.valid, [1, T * B, 1]);
      const nValid = Math.max(1, countValid(batch.valid));
      // As the reference logs them: per-neuron L2 norms over q, averaged over valid rows and neurons.
      const rowNormMean = (x: tf.Tensor3D) =>
        tf.div(tf.sum(tf.mul(tf.sum(tf.sqrt(tf.sum(tf.square(x), 2)), 0), lt.valid)), nValid * W);
      const trueAll = neuronMajor(trueSteps) as tf.Tensor3D;
      const mixedAll = neuronMajor(mixedSteps) as tf.Tensor3D;
      const norms = [
        rowNormMean(trueAll),
        rowNormMean(mixedAll),
        predAll !== undefined ? rowNormMean(predAll) : tf.scalar(0),
      ];

      const extra: Record<string, tf.Tensor> = {};
      if (mixing !== undefined && predAll !== undefined) {
        // SG loss against the detached post-mix gradient over valid rows; only sgA, sgB get gradients.
        const denom = nValid * W * q;
        const diff = tf.mul(tf.sub(predAll, mixedAll), validRow);
        extra.sgLoss = tf.div(tf.sum(tf.square(diff)), denom);
        const dPred = tf.mul(diff, 2 / denom);
        const dzs = tf.reshape(tf.mul(tf.expandDims(alphaAll, 3), tf.expandDims(dPred, 2)), [
          W,
          T * B,
          d.Mq,
        ]) as tf.Tensor3D;
        const dSgPar = tf.matMul(uParAll, dzs, true, false) as tf.Tensor3D;
        const dzsIn = tf.reshape(tf.transpose(tf.slice(dzs, [0, 0, 0], [d.Ni, T * B, d.Mq]), [1, 0, 2]), [
          T * B,
          d.Ni * d.Mq,
        ]) as tf.Tensor2D;
        const dSgEmb = tf.matMul(e, dzsIn, true, false) as tf.Tensor2D;
        extra.sgA = slotMapGrad(dSgPar, dSgEmb, k, d.Mq, 0, d.Mq, "A");
        extra.sgB = tf.reshape(tf.sum(dzs, 1), [W, d.M, q]);
        if (mixing.thetaPrev !== undefined) {
          const rows: number[] = [];
          for (let r = 0; r < T * B; r++) if (batch.valid[r]) rows.push(r);
          const idx = tf.tensor1d(rows, "int32");
          const yAll = neuronMajor(steps.map((s) => s.y)) as tf.Tensor4D;
          const subAll = neuronMajor(subSteps) as tf.Tensor3D;
          thetaBatch = estimateRecurrentThetaBatch(
            {
              g: tf.gather(trueAll, idx, 1) as tf.Tensor3D,
              s: tf.gather(subAll, idx, 1) as tf.Tensor3D,
              alpha: tf.gather(alphaAll, idx, 1) as tf.Tensor3D,
              y: tf.gather(yAll, idx, 1) as tf.Tensor4D,
              uPar: tf.gather(uParAll, idx, 1) as tf.Tensor3D,
              uEmb: tf.gather(e, idx, 0) as tf.Tensor2D,
            },
            d,
            mixing.thetaPrev,
            mixing.thetaEps ?? RECURRENT_THETA_EPS,
          );
        }
        if (opts.record) {
          extra.trueGrad = timeMajorRecord(trueSteps);
          extra.mixedGrad = timeMajorRecord(mixedSteps);
          extra.sgPrediction = timeMajorRecord(predSteps);
        }
      }
      const scalars = tf.stack([
        loss.totalLoss,
        loss.policyLoss,
        loss.entropyLoss,
        ...norms,
        extra.sgLoss ?? tf.scalar(0),
      ]);
      const kept = {
        grads,
        scalars,
        logits,
        logProbs: loss.logProbs,
        entropy: loss.entropy,
        extra,
      };
      return kept as unknown as tf.TensorContainer;
    }) as unknown as {
      grads: Record<string, tf.Tensor>;
      scalars: tf.Tensor1D;
      logits: tf.Tensor2D;
      logProbs: tf.Tensor1D;
      entropy: tf.Tensor1D;
      extra: Record<string, tf.Tensor>;
    };
    const s = result.scalars.dataSync();
    result.scalars.dispose();
    const grads: TensorMap = new Map();
    for (const name of [
      "featureMap.weight",
      "featureMap.bias",
      "preprocessor.weight",
      "preprocessor.bias",
      "neuronKeys",
      "policyA",
      "policyB",
      "actorKeys",
      "actorA",
      "actorB",
    ]) {
      grads.set(name, result.grads[name] as tf.Tensor);
    }
    const x = result.extra;
    const sgGrads: TensorMap | undefined =
      x.sgA !== undefined && x.sgB !== undefined
        ? new Map([
            ["sgA", x.sgA],
            ["sgB", x.sgB],
          ])
        : undefined;
    let record: BpttRecord | undefined;
    if (opts.record) {
      record = {
        logits: result.logits,
        logProbs: result.logProbs,
        entropy: result.entropy,
        ...(x.trueGrad !== undefined ? { trueGrad: x.trueGrad as tf.Tensor4D } : {}),
        ...(x.mixedGrad !== undefined ? { mixedGrad: x.mixedGrad as tf.Tensor4D } : {}),
        ...(x.sgPrediction !== undefined ? { sgPrediction: x.sgPrediction as tf.Tensor4D } : {}),
      };
    } else {
      result.logits.dispose();
      result.logProbs.dispose();
      result.entropy.dispose();
    }
    x.sgLoss?.dispose();
    return {
      totalLoss: s[0] as number,
      policyLoss: s[1] as number,
      entropyLoss: s[2] as number,
      trueGradNorm: s[3] as number,
      mixedGradNorm: s[4] as number,
      predGradNorm: s[5] as number,
      grads,
      ...(sgGrads !== undefined ? { sgGrads, sgLoss: s[6] as number } : {}),
      ...(thetaBatch !== undefined ? { thetaBatch } : {}),
      ...(record !== undefined ? { record } : {}),
    };
  } finally {
    disposeKernels(k);
  }
}

function countValid(valid: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < valid.length; i++) if (valid[i]) n++;
  return n;
}
