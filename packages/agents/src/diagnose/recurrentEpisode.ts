/**
 * Per-episode gradients of the recurrent POPGym SparseNet for the gradient diagnosis: for one
 * episode, every neuron's own-parameter gradient (policyA, policyB, neuronKeys of that neuron) of
 * each kind the diagnosis compares, raw and unit-normalised. Every backward pass is the trainer's
 * BPTT kernel (coreBackward.c through corePool.ts); nothing here differentiates by hand.
 *
 * The trick that makes the kernel give "the gradient induced by a field G_t at every H_t" (and
 * not the BPTT gradient): mixing with theta = 0 at every step and G as the "prediction". The mix
 * then replaces the gradient arriving at each H_t by G_t exactly (0 * g + 1 * G), so the own-
 * parameter gradient is sum_t (step t's local gradient induced by G_t), and what flows back from
 * t+1 is discarded.
 */
import * as tf from "@tensorflow/tfjs-core";
import { slotActorLogits } from "../recurrent/actor.js";
import type { SequenceBatch } from "../recurrent/batch.js";
import type { BackwardOutputs, BackwardSums, CoreMixing } from "../recurrent/coreBackward.js";
import { backwardParallel, backwardTwoEnvsParallel, predictionsParallel } from "../recurrent/corePool.js";
import { EMBEDDING_PARAMS, embedObservations } from "../recurrent/embedding.js";
import { getParam } from "../recurrent/params.js";
import {
  allocTrace,
  type CoreSizes,
  type CoreTrace,
  coreForwardSteps,
  type EmbeddingTerm,
  sharedFloat32,
} from "../recurrent/sparseCore.js";
import { coreSizes, type JsCoreMaps, jsCoreMaps } from "../recurrent/sparseMaps.js";
import { coreKernels, disposeKernels, type SparseNetPolicy } from "../recurrent/sparsenet.js";
import type { SparseNetDims } from "../recurrent/sparsenetConfig.js";
import { reinforceLoss } from "../reinforce/loss.js";
import { discountedReturns } from "../reinforce/returns.js";
import type { SgMode } from "../sgprop/mixing.js";
import { temporalThetaSchedule } from "../sgprop/thetaSchedule.js";

/** Raw kinds, in this order (diagnose/types.ts DIAGNOSIS_KINDS plus `applied`). */
export const RECURRENT_RAW_KINDS = ["backprop", "live", "synthetic", "applied"] as const;
/** Normalised kinds (eq. 3's space; `applied` has no meaning there). */
export const RECURRENT_NORMALISED_KINDS = ["backprop", "live", "synthetic"] as const;

/** Everything a per-episode computation needs that does not change between episodes. */
export interface EpisodeContext {
  readonly policy: SparseNetPolicy;
  /** Core maps with the SG predictor (jsCoreMaps(..., true)). */
  readonly maps: JsCoreMaps;
  /** [E][Ni*C] policy embedding maps and [E][Ni*Mq] predictor embedding maps, row-major. */
  readonly wEmb: Float32Array;
  readonly sgEmb: Float32Array;
  /** The trainer's temporal theta schedule [T][W] for T = rolloutLength. */
  readonly schedule: Float64Array;
  readonly positiveProjection: boolean;
  readonly gamma: number;
  readonly entropyCoef: number;
  /**
   * The per-episode loss is sum over the episode's valid steps of the REINFORCE row loss divided
   * by this (the pool's mean episode length), so that the mean of B episodes' vectors is the
   * trainer's masked-mean gradient of a batch of B whose mean length is that.
   */
  readonly lengthScale: number;
  /**
   * The SG predictions are multiplied by this (the trainer's numEnvs B): the predictor was fitted
   * to gradients of a batch mean over ~B episodes, i.e. 1/B of one episode's share here.
   */
  readonly predictionScale: number;
  /** Returns r become (r - shift) / scale at valid steps (raw: 0 and 1). */
  readonly returnShift: number;
  readonly returnScale: number;
}

/** The settings of {@link createEpisodeContext} (a resolved PopgymTrainOptions has them). */
export interface EpisodeSettings {
  readonly rolloutLength: number;
  readonly thetaRho: number;
  readonly sgMode: SgMode;
  readonly gamma: number;
  readonly entropyCoef: number;
}

/** Reads the parameters once and builds the trainer's theta schedule from the base theta. */
export function createEpisodeContext(
  policy: SparseNetPolicy,
  theta: ArrayLike<number>,
  run: EpisodeSettings,
  scales: Pick<EpisodeContext, "lengthScale" | "predictionScale" | "returnShift" | "returnScale">,
): EpisodeContext {
  const d = policy.dims;
  const k = coreKernels(policy.config, policy.params, policy.parentIdx, true);
  try {
    return {
      policy,
      maps: jsCoreMaps(policy.params, policy.parentIdx, d, true),
      wEmb: Float32Array.from(k.wEmb.dataSync()),
      sgEmb: Float32Array.from((k.sgEmb as tf.Tensor).dataSync()),
      schedule: temporalThetaSchedule(theta, policy.graph, run.rolloutLength, run.thetaRho),
      positiveProjection: run.sgMode === "positive_projection",
      gamma: run.gamma,
      entropyCoef: run.entropyCoef,
      ...scales,
    };
  } finally {
    disposeKernels(k);
  }
}

/** Per-episode vectors: raw[k][i] and normalised[k][i] for kind k and neuron i. */
export interface EpisodeGradients {
  readonly raw: Float64Array[][];
  readonly normalised: Float64Array[][];
  /** The episode's valid steps. */
  readonly length: number;
}

/**
 * Number of parameters of neuron i in the unit layout: its parent-part maps and keys (Pq x C),
 * for input neurons their embedding-part maps and keys (C x E), and its slot biases (Mq). The
 * embedding columns of the other neurons see a zero input, their gradient is exactly zero, and
 * dropping them changes no inner product.
 */
export function unitSize(d: SparseNetDims, i: number): number {
  return d.Pq * d.C + (i < d.Ni ? d.C * d.E : 0) + d.Mq;
}

export function unitSizes(d: SparseNetDims): number[] {
  return Array.from({ length: d.W }, (_, i) => unitSize(d, i));
}

/** The unit-layout vectors of every neuron from the backward pass's summed gradients. */
function unitVectors(d: SparseNetDims, out: BackwardSums): Float64Array[] {
  const { Pq, C, E, Mq } = d;
  return Array.from({ length: d.W }, (_, i) => {
    const v = new Float64Array(unitSize(d, i));
    v.set(out.dwPar.subarray(i * Pq * C, (i + 1) * Pq * C), 0);
    let o = Pq * C;
    if (i < d.Ni) {
      v.set(out.dWemb.subarray(i * C * E, (i + 1) * C * E), o);
      o += C * E;
    }
    v.set(out.dBias.subarray(i * C, i * C + Mq), o);
    return v;
  });
}

/**
 * Canonical gradients (policyA [W,M,q,D], neuronKeys [W,M,D], policyB [W,M,q]) in the unit layout
 * of {@link unitSize}: what a normal backward pass gives, for comparisons.
 */
export function canonicalToUnits(
  d: SparseNetDims,
  a: ArrayLike<number>,
  keys: ArrayLike<number>,
  b: ArrayLike<number>,
): Float64Array[] {
  const { Pq, C, E, Mq, M, D } = d;
  const col = (i: number, c: number, k: number) =>
    c < Mq ? (a[(i * Mq + c) * D + k] as number) : (keys[(i * M + c - Mq) * D + k] as number);
  return Array.from({ length: d.W }, (_, i) => {
    const v = new Float64Array(unitSize(d, i));
    for (let k = 0; k < Pq; k++) for (let c = 0; c < C; c++) v[k * C + c] = col(i, c, k);
    let o = Pq * C;
    if (i < d.Ni) {
      for (let c = 0; c < C; c++) for (let e = 0; e < E; e++) v[o + c * E + e] = col(i, c, Pq + e);
      o += C * E;
    }
    for (let c = 0; c < Mq; c++) v[o + c] = b[i * Mq + c] as number;
    return v;
  });
}

/** Envs from..to-1 of a [T, B] batch as a batch of their own. */
export function envsOf(batch: SequenceBatch, from: number, to = from + 1): SequenceBatch {
  const T = batch.numSteps;
  const B = batch.numEnvs;
  const n = to - from;
  const o = batch.obs.length / (T * B);
  const obs = new Float32Array(T * n * o);
  const pick = (x: ArrayLike<number>) =>
    Float32Array.from({ length: T * n }, (_, r) => x[Math.floor(r / n) * B + from + (r % n)] as number);
  for (let t = 0; t < T; t++) obs.set(batch.obs.subarray((t * B + from) * o, (t * B + to) * o), t * n * o);
  return {
    numSteps: T,
    numEnvs: n,
    obs,
    episodeStarts: pick(batch.episodeStarts),
    actions: Int32Array.from(pick(batch.actions)),
    rewards: pick(batch.rewards),
    dones: pick(batch.dones),
    valid: pick(batch.valid),
  };
}

/** The discounted returns of every valid step of a batch (for pool-wide return statistics). */
export function validReturns(batch: SequenceBatch, gamma: number): number[] {
  const r = discountedReturns(batch.rewards, batch.dones, batch.valid, batch.numSteps, batch.numEnvs, gamma);
  return Array.from(r).filter((_, k) => batch.valid[k]);
}

interface EpisodeForward {
  readonly trace: CoreTrace;
  readonly keep: Float32Array;
  readonly embedding: EmbeddingTerm;
  /** [T][B][W][q] gradient of the per-episode losses at every H_t from the actor. */
  readonly dActor: Float32Array;
  /** [T][B][W][q] SG predictions times predictionScale. */
  readonly pred: Float32Array;
  /** Valid steps of each env. */
  readonly lengths: number[];
}

/**
 * The forward pass of one or two episodes (as sparseNetBptt does it) and the actor's gradient at
 * every H_t: each env's loss is the masked mean over its own valid steps times length /
 * lengthScale, i.e. its row losses summed / lengthScale.
 */
function episodeForward(ctx: EpisodeContext, batch: SequenceBatch): EpisodeForward {
  const { policy, maps } = ctx;
  const d = policy.dims;
  const s: CoreSizes = coreSizes(d);
  const T = batch.numSteps;
  const B = batch.numEnvs;
  const R = T * B;
  const { W, q, Ni, C, E } = d;
  const p = policy.params;
  const emb = sharedFloat32(R * E);
  // dataSync outside tidy: a typed array returned from tidy is walked element by element.
  const extT = tf.tidy(() => {
    const obs = tf.tensor2d(batch.obs, [R, policy.config.obsDim]);
    const [w1, b1, w2, b2] = EMBEDDING_PARAMS.map((n) => getParam(p, n)) as tf.Tensor[];
    const e = embedObservations(obs, w1 as tf.Tensor, b1 as tf.Tensor, w2 as tf.Tensor, b2 as tf.Tensor);
    emb.set(e.dataSync());
    return tf.matMul(e, tf.tensor2d(ctx.wEmb, [E, Ni * C]));
  });
  const extIn = extT.dataSync() as Float32Array;
  extT.dispose();
  const keep = Float32Array.from({ length: R }, (_, r) => 1 - (batch.episodeStarts[r] as number));
  const trace = allocTrace(s, R);
  const h0 = new Float32Array(B * W * q);
  coreForwardSteps(s, maps, h0, keep, extIn, trace, 0, T, B);
  const raw = predictionsParallel(
    s,
    maps.sgParT as Float32Array,
    maps.sgBias as Float32Array,
    { emb, maps: ctx.sgEmb },
    trace,
  );
  const pred = sharedFloat32(raw.length);
  for (let x = 0; x < raw.length; x++) pred[x] = (raw[x] as number) * ctx.predictionScale;
  const returns = discountedReturns(batch.rewards, batch.dones, batch.valid, T, B, ctx.gamma);
  const lengths = new Array<number>(B).fill(0);
  for (let r = 0; r < R; r++) if (batch.valid[r]) lengths[r % B] = (lengths[r % B] as number) + 1;
  const total = lengths.reduce((a, b) => a + b, 0);
  const A = policy.config.numActions;
  const gradT = tf.tidy(() => {
    const oneHot = new Float32Array(R * A);
    for (let r = 0; r < R; r++) oneHot[r * A + (batch.actions[r] as number)] = 1;
    const inputs = {
      actionsOneHot: tf.tensor2d(oneHot, [R, A]),
      normalizedReturns: tf.tensor1d(
        Float32Array.from(returns, (x, r) => (batch.valid[r] ? (x - ctx.returnShift) / ctx.returnScale : 0)),
      ),
      valid: tf.tensor1d(Float32Array.from(batch.valid as ArrayLike<number>)),
      entropyCoef: ctx.entropyCoef,
    };
    const [keys, a, b] = ["actorKeys", "actorA", "actorB"].map((n) => getParam(p, n)) as tf.Tensor[];
    const loss = (f: tf.Tensor) =>
      tf.mul(
        reinforceLoss(
          slotActorLogits(f as tf.Tensor2D, keys as tf.Tensor, a as tf.Tensor, b as tf.Tensor),
          inputs,
        ).totalLoss,
        Math.max(total, 1) / ctx.lengthScale,
      ) as tf.Scalar;
    return tf.grad(loss)(tf.tensor2d(trace.h, [R, W * q]));
  });
  const dActor = Float32Array.from(gradT.dataSync() as Float32Array);
  gradT.dispose();
  return { trace, keep, embedding: { emb, maps: ctx.wEmb }, dActor, pred, lengths };
}

/** field / max(||field||, 1e-12) per row and neuron (as eq. 3's kernel), / lengthScale; 0 at invalid rows. */
function unitNormalised(
  field: Float32Array,
  batch: SequenceBatch,
  d: SparseNetDims,
  lengthScale: number,
): Float32Array {
  const { W, q } = d;
  const out = sharedFloat32(field.length);
  for (let r = 0; r < batch.valid.length; r++) {
    if (!batch.valid[r]) continue;
    for (let i = 0; i < W; i++) {
      const o = (r * W + i) * q;
      let sq = 0;
      for (let j = 0; j < q; j++) sq += (field[o + j] as number) ** 2;
      const scale = 1 / (Math.max(Math.sqrt(sq), 1e-12) * lengthScale);
      for (let j = 0; j < q; j++) out[o + j] = (field[o + j] as number) * scale;
    }
  }
  return out;
}

/**
 * All kinds of each episode of a batch of one or two envs (rolloutLength steps, as the trainer
 * holds them; two envs run on two threads):
 * - backprop: plain BPTT (theta = 1 everywhere);
 * - applied: the trainer's mixed BPTT with its temporal theta schedule (what Adam receives);
 * - live: induced by the gradient each neuron receives at every step in that mixed pass;
 * - synthetic: induced by its substitute s_t in that pass (Definition 1's s, either mode);
 * normalised: backprop, live, synthetic with each step's field unit-normalised (eq. 3), valid
 * steps only, divided by lengthScale.
 */
export function episodeGradients(ctx: EpisodeContext, batch: SequenceBatch): EpisodeGradients[] {
  const d = ctx.policy.dims;
  const s = coreSizes(d);
  const T = batch.numSteps;
  const B = batch.numEnvs;
  if (B !== 1 && B !== 2) throw new RangeError(`episodeGradients takes 1 or 2 envs, got ${B}`);
  if (ctx.schedule.length !== T * d.W)
    throw new RangeError(`theta schedule has ${ctx.schedule.length} entries, expected ${T} x ${d.W}`);
  const f = episodeForward(ctx, batch);
  // Per-env unit vectors of one backward pass, and its per-row fields.
  const back = (dActor: Float32Array, mixing?: CoreMixing) => {
    if (B === 2) {
      const { out, env1 } = backwardTwoEnvsParallel(
        s,
        ctx.maps,
        f.trace,
        dActor,
        f.keep,
        T,
        mixing,
        f.embedding,
      );
      return { out, units: [unitVectors(d, out), unitVectors(d, env1)] };
    }
    const out = backwardParallel(
      s,
      ctx.maps,
      f.trace,
      dActor,
      f.keep,
      T,
      1,
      mixing,
      f.embedding,
    ) as BackwardOutputs;
    return { out, units: [unitVectors(d, out)] };
  };
  const zeroTheta = new Float64Array(T * d.W);
  const zeros = sharedFloat32(f.dActor.length);
  const induced = (field: Float32Array) =>
    back(zeros, { theta: zeroTheta, positiveProjection: false, pred: field }).units;
  const plain = back(f.dActor);
  const mixed = back(f.dActor, {
    theta: ctx.schedule,
    positiveProjection: ctx.positiveProjection,
    pred: f.pred,
  });
  const substitute = mixed.out.substitute as Float32Array;
  const raw = [plain.units, induced(mixed.out.trueGrad), induced(substitute), mixed.units];
  const norm = (x: Float32Array) => induced(unitNormalised(x, batch, d, ctx.lengthScale));
  const normalised = [norm(plain.out.trueGrad), norm(mixed.out.trueGrad), norm(substitute)];
  return f.lengths.map((length, b) => ({
    raw: raw.map((kind) => kind[b] as Float64Array[]),
    normalised: normalised.map((kind) => kind[b] as Float64Array[]),
    length,
  }));
}
