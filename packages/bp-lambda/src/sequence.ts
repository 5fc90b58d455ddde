/**
 * One training sequence under any method of Table 2: the forward pass, the losses, the synthetic
 * gradients (BP(lambda) online, or n-step as Jaderberg et al.), and the truncated backward pass,
 * returning the gradients of every parameter group. The caller owns the optimisers.
 *
 * The learning signal at state s_t of truncation [a, e) is
 *   dL_t/ds_t + (t = e - 1 and t < T - 1 ? sgScale * gHat(s_t) : 0) + (t < e - 1 ? backpropagated : 0)
 * so truncation 1 with BP(lambda) is the paper's fully online learner (Algorithm 1) and truncation
 * 1 without SG the no-BPTT baseline.
 */
import {
  addOuterProducts,
  type BpLambdaLearner,
  DenseRowJacobian,
  type LinearSynthesiser,
  lambdaReturnTargets,
  type RowJacobian,
} from "@sgprop/agents";
import { type Core, type CoreParams, type StepCache, zerosLike } from "./cores.js";
import { type MethodSettings, truncations } from "./methods.js";
import { type LossKind, type Readout, stepLoss } from "./readout.js";

/** A batch of sequences, time-major. */
export interface SequenceBatch {
  readonly batch: number;
  /** T entries of [B, I]. */
  readonly inputs: readonly Float64Array[];
  /** T entries of [B, O], null where a step has no target. */
  readonly targets: readonly (Float64Array | null)[];
  readonly loss: LossKind;
}

export interface Model {
  readonly core: Core;
  readonly readout: Readout;
  readonly synthesiser: LinearSynthesiser | null;
}

export interface SequenceGradients {
  readonly core: CoreParams;
  readonly readoutWeight: Float64Array;
  readonly readoutBias: Float64Array;
  /** Descent directions for the synthesiser (null without SG). */
  readonly synthTheta: Float64Array | null;
  readonly synthBias: Float64Array | null;
}

export interface SequenceResult {
  /** Mean over target steps of the batch-mean loss. */
  readonly loss: number;
  /** Fraction of correct predictions over target steps (classification; bits for bce). */
  readonly accuracy: number;
  readonly grads: SequenceGradients;
  /**
   * Per step, the cosine between the synthetic gradient gHat(s_t) and the true gradient of the
   * losses after t (batch-flattened), when asked for; NaN where either is zero.
   */
  readonly alignment?: number[];
}

export interface SequenceOptions {
  /** Compute `alignment` (costs a full backward pass). */
  readonly alignment?: boolean;
}

/** Runs the forward pass only; returns the per-step caches (for evaluation and tests). */
export function forwardSequence(core: Core, batch: SequenceBatch): StepCache[] {
  const B = batch.batch;
  let prev = new Float64Array(B * core.stateSize);
  const caches: StepCache[] = [];
  for (const x of batch.inputs) {
    const cache = core.forward(prev, x, B);
    caches.push(cache);
    prev = cache.state as Float64Array<ArrayBuffer>;
  }
  return caches;
}

export function learnSequence(
  model: Model,
  batch: SequenceBatch,
  settings: MethodSettings,
  learner: BpLambdaLearner | null,
  options: SequenceOptions = {},
): SequenceResult {
  const { core, readout, synthesiser } = model;
  const B = batch.batch;
  const S = core.stateSize;
  const T = batch.inputs.length;
  if (T === 0) throw new RangeError("learnSequence: empty sequence");
  const caches = forwardSequence(core, batch);

  // Losses and the immediate gradients dL_t/ds_t.
  const targetSteps = batch.targets.filter((t) => t !== null).length;
  const weight = targetSteps > 0 ? 1 / targetSteps : 0;
  const gradW = new Float64Array(readout.weight.length);
  const gradB = new Float64Array(readout.bias.length);
  const immediate: (Float64Array | null)[] = new Array(T).fill(null);
  let loss = 0;
  let correct = 0;
  for (let t = 0; t < T; t++) {
    const target = batch.targets[t];
    if (!target) continue;
    const state = (caches[t] as StepCache).state;
    const y = readout.forward(state, S, B);
    const step = stepLoss(batch.loss, y, target, B, readout.outputSize, weight);
    loss += step.loss;
    correct += step.correct;
    immediate[t] = readout.backward(state, S, step.dy, B, gradW, gradB);
  }

  // Synthetic gradients.
  const inject: (Float64Array | null)[] = new Array(T).fill(null);
  let synthTheta: Float64Array | null = null;
  let synthBias: Float64Array | null = null;
  const predictions: Float64Array[] = [];
  // Dense Jacobians only where the alignment diagnostic needs them; the learner takes each core's
  // compact form (the same products, bit for bit).
  const jacobians: (Float64Array | null)[] = [];
  const rowJacobians: (RowJacobian | null)[] = [];
  for (let t = 0; t < T; t++) {
    const cache = caches[t] as StepCache;
    const dense = options.alignment === true && t > 0 ? core.jacobian(cache, B) : null;
    jacobians.push(dense);
    rowJacobians.push(
      settings.sg !== "bp-lambda" || t === 0
        ? null
        : dense
          ? new DenseRowJacobian(dense, B, S)
          : core.rowJacobian(cache, B),
    );
  }
  if (settings.sg === "bp-lambda") {
    if (!learner || !synthesiser)
      throw new Error("learnSequence: bp-lambda needs a synthesiser and a learner");
    learner.clearUpdate();
    learner.begin();
    for (let t = 0; t < T; t++) {
      const g = learner.step({
        state: (caches[t] as StepCache).state,
        jacobian: rowJacobians[t] ?? null,
        immediate: immediate[t] ?? null,
        final: t === T - 1,
      });
      predictions.push(g);
      if (t < T - 1) inject[t] = scaled(g, settings.sgScale);
    }
    synthTheta = learner.gradTheta.map((v) => -v);
    synthBias = learner.gradBias.map((v) => -v);
  }
  const chunks = truncations(T, settings.truncation);
  const dniPredictions = new Map<number, Float64Array>();
  if (settings.sg === "dni") {
    if (!synthesiser) throw new Error("learnSequence: bptt-sg needs a synthesiser");
    synthTheta = new Float64Array(synthesiser.theta.length);
    synthBias = new Float64Array(synthesiser.bias.length);
    for (const [, e] of chunks) {
      if (e - 1 >= T - 1) continue;
      const g = synthesiser.predict((caches[e - 1] as StepCache).state, B);
      dniPredictions.set(e - 1, g);
      inject[e - 1] = scaled(g, settings.sgScale);
    }
  }

  // Truncated backward passes.
  const coreGrads = zerosLike(core.params);
  if (settings.truncation === 1 && settings.cellTraces && core.kind === "lstm") {
    cellTraceBackward(core, caches, immediate, inject, B, coreGrads);
    chunks.length = 0;
  }
  for (const [a, e] of chunks) {
    let d = add(immediate[e - 1] ?? null, inject[e - 1] ?? null, B * S);
    for (let k = e - 1; k >= a; k--) {
      const dPrev = core.backward(caches[k] as StepCache, d, B, coreGrads);
      if (k > a) {
        d = add(immediate[k - 1] ?? null, dPrev, B * S);
      } else if (settings.sg === "dni" && synthesiser && synthTheta && synthBias) {
        // The gradient reaching s_{a-1} is the target of the prediction made there.
        const prediction = dniPredictions.get(a - 1);
        if (prediction)
          dniRegression(
            synthesiser,
            (caches[a - 1] as StepCache).state,
            prediction,
            dPrev,
            B,
            synthTheta,
            synthBias,
          );
      }
    }
  }

  let alignment: number[] | undefined;
  if (options.alignment && synthesiser) {
    const preds =
      predictions.length === T
        ? predictions
        : caches.map((c, t) => (t === T - 1 ? new Float64Array(B * S) : synthesiser.predict(c.state, B)));
    const truth = lambdaReturnTargets(preds, jacobians, immediate, B, S, { lambda: 1, gamma: 1 });
    alignment = truth.map((g, t) => cosine(preds[t] as Float64Array, g));
  }

  return {
    loss,
    accuracy: targetSteps > 0 ? correct / (B * targetSteps) : Number.NaN,
    grads: { core: coreGrads, readoutWeight: gradW, readoutBias: gradB, synthTheta, synthBias },
    ...(alignment ? { alignment } : {}),
  };
}

/**
 * The authors' e-prop eligibility vectors for an LSTM without BPTT, written backwards: their
 * parameter gradient sum_t ls_t . evec_t, with evec_t = f_t evec_{t-1} + (d c_t / d W at step t), is
 * the sum over steps of the local gradients driven by eps_t = ls_t + f_{t+1} eps_{t+1} at the cell
 * (the gradient carried back through each cell's forget gate only; nothing through h_{t-1}).
 */
function cellTraceBackward(
  core: Core,
  caches: readonly StepCache[],
  immediate: readonly (Float64Array | null)[],
  inject: readonly (Float64Array | null)[],
  B: number,
  grads: CoreParams,
): void {
  const S = core.stateSize;
  const H = S / 2;
  let carried: Float64Array | null = null;
  for (let t = caches.length - 1; t >= 0; t--) {
    const d = add(immediate[t] ?? null, inject[t] ?? null, B * S);
    if (carried)
      for (let n = 0; n < B; n++)
        for (let k = H; k < S; k++) d[n * S + k] = (d[n * S + k] as number) + (carried[n * S + k] as number);
    carried = core.backward(caches[t] as StepCache, d, B, grads, false);
  }
}

function scaled(g: Float64Array, factor: number): Float64Array {
  return g.map((v) => v * factor);
}

function add(a: Float64Array | null, b: Float64Array | null, size: number): Float64Array {
  const out = new Float64Array(size);
  if (a) for (let i = 0; i < size; i++) out[i] = a[i] as number;
  if (b) for (let i = 0; i < size; i++) out[i] = (out[i] as number) + (b[i] as number);
  return out;
}

/** Gradient of mean((gHat - target)^2) over the B x O entries (torch's mse_loss, as pytorch-dni). */
function dniRegression(
  synth: LinearSynthesiser,
  state: Float64Array,
  prediction: Float64Array,
  target: Float64Array,
  B: number,
  gTheta: Float64Array,
  gBias: Float64Array,
): void {
  const I = synth.inputSize;
  const O = synth.outputSize;
  const err = new Float64Array(B * O);
  for (let n = 0; n < B; n++) {
    for (let k = 0; k < O; k++) {
      const e = (2 * ((prediction[n * O + k] as number) - (target[n * O + k] as number))) / (B * O);
      err[n * O + k] = e;
      gBias[k] = (gBias[k] as number) + e;
    }
  }
  addOuterProducts(gTheta, 0, err, 0, state, B, O, I);
}

export function cosine(a: Float64Array, b: Float64Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i] as number) * (b[i] as number);
    aa += (a[i] as number) ** 2;
    bb += (b[i] as number) ** 2;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : Number.NaN;
}
