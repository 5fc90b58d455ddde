import type { Rng } from "@sgprop/gym";
import * as tf from "@tensorflow/tfjs-core";
import { reinforceLoss } from "../reinforce/loss.js";
import type { LossTensors, SequenceBatch } from "./batch.js";
import { LEAKY_RELU_SLOPE, layerNorm, linear } from "./embedding.js";
import { fastMatMul } from "./matmul.js";
import {
  getParam,
  normalTensor,
  orthogonalTensor,
  type ParamMap,
  RecurrentConfigError,
  RecurrentInputError,
  requirePositiveInt,
  type TensorMap,
  toVariables,
} from "./params.js";

/** The two recurrent cores of the POPGym baselines. */
export type RnnCell = "gru" | "lstm";

/** Sizes of a GRU/LSTM policy (SPEC 4.6; paper: 128 -> 128 embedding, hidden 256, actor 128). */
export interface RnnConfig {
  readonly cell: RnnCell;
  readonly obsDim: number;
  readonly numActions: number;
  /** E1: featureMap width. */
  readonly embedHidden: number;
  /** E: embedding width (the core's input). */
  readonly embedDim: number;
  /** H */
  readonly hiddenSize: number;
  /** Ha: actor MLP width. */
  readonly actorHiddenSize: number;
}

export const PAPER_RNN_SIZES = {
  embedHidden: 128,
  embedDim: 128,
  hiddenSize: 256,
  actorHiddenSize: 128,
} as const;

/** Canonical parameter names, in optimiser order. */
export const RNN_PARAMS = [
  "featureMap.weight",
  "featureMap.bias",
  "preprocessor.weight",
  "preprocessor.bias",
  "core.weightIh",
  "core.weightHh",
  "core.biasIh",
  "core.biasHh",
  "actorBody.0.weight",
  "actorBody.0.bias",
  "actorBody.1.weight",
  "actorBody.1.bias",
  "actorHead.weight",
  "actorHead.bias",
] as const;

function gates(c: RnnConfig): number {
  return (c.cell === "gru" ? 3 : 4) * c.hiddenSize;
}

export function validateRnnConfig(c: RnnConfig): void {
  if (c.cell !== "gru" && c.cell !== "lstm")
    throw new RecurrentConfigError(`cell must be "gru" or "lstm", got ${String(c.cell)}`);
  for (const key of [
    "obsDim",
    "numActions",
    "embedHidden",
    "embedDim",
    "hiddenSize",
    "actorHiddenSize",
  ] as const) {
    requirePositiveInt(key, c[key]);
  }
}

function expectedShapes(c: RnnConfig): Record<string, number[]> {
  const g = gates(c);
  return {
    "featureMap.weight": [c.embedHidden, c.obsDim],
    "featureMap.bias": [c.embedHidden],
    "preprocessor.weight": [c.embedDim, c.embedHidden],
    "preprocessor.bias": [c.embedDim],
    "core.weightIh": [g, c.embedDim],
    "core.weightHh": [g, c.hiddenSize],
    "core.biasIh": [g],
    "core.biasHh": [g],
    "actorBody.0.weight": [c.actorHiddenSize, c.hiddenSize],
    "actorBody.0.bias": [c.actorHiddenSize],
    "actorBody.1.weight": [c.actorHiddenSize, c.actorHiddenSize],
    "actorBody.1.bias": [c.actorHiddenSize],
    "actorHead.weight": [c.numActions, c.actorHiddenSize],
    "actorHead.bias": [c.numActions],
  };
}

/**
 * Initial parameters: orthogonal weights (the recurrent matrices as whole [3H or 4H, in] matrices),
 * zero biases, the head's weight normal with std 0.01 (SPEC 4.6).
 */
export function initRnn(c: RnnConfig, rng: Rng): ParamMap {
  validateRnnConfig(c);
  const t = new Map<string, tf.Tensor>();
  for (const [name, shape] of Object.entries(expectedShapes(c))) {
    if (shape.length === 1) t.set(name, tf.zeros(shape));
    else if (name === "actorHead.weight") t.set(name, normalTensor(rng, shape, 0.01));
    else t.set(name, orthogonalTensor(rng, shape[0] as number, shape[1] as number));
  }
  const vars = toVariables(t);
  for (const x of t.values()) x.dispose();
  return vars;
}

/** Recurrent state: h [B, H] (and c for the LSTM). */
export interface RnnState {
  readonly h: tf.Tensor2D;
  readonly c?: tf.Tensor2D;
}

type Params = Readonly<Record<string, tf.Tensor>>;

function p(params: Params, name: string): tf.Tensor {
  const t = params[name];
  if (t === undefined) throw new RecurrentConfigError(`missing parameter "${name}"`);
  return t;
}

/**
 * Linear layer `prefix` (weight [out, in], bias): uses a pre-transposed weight `prefix.weight^T`
 * when the record has one (rollouts cache them per batch), else transposes on the fly.
 */
function lin(
  params: Params,
  prefix: string,
  x: tf.Tensor2D,
  weight = `${prefix}.weight`,
  bias = `${prefix}.bias`,
): tf.Tensor2D {
  const t = params[`${weight}^T`];
  if (t !== undefined) return tf.add(tf.matMul(x, t as tf.Tensor2D), p(params, bias)) as tf.Tensor2D;
  return linear(x, p(params, weight), p(params, bias));
}

/** The parameters plus transposed copies of every weight matrix (for rollouts; dispose the copies). */
export function withTransposedWeights(params: Params): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = { ...params };
  for (const [name, t] of Object.entries(params)) if (t.rank === 2) out[`${name}^T`] = tf.transpose(t);
  return out;
}

/**
 * One cell step with PyTorch's equations and gate order, from the input projection
 * xi = W_ih x + b_ih [B, G] and the (already reset) state.
 * GRU (r, z, n): n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) n + z h.
 * LSTM (i, f, g, o): c' = f c + i g, h' = o tanh(c').
 */
export function rnnCell(
  cell: RnnCell,
  xi: tf.Tensor2D,
  state: RnnState,
  params: Params,
  weightHhT?: tf.Tensor,
): RnnState {
  const gh = (
    weightHhT !== undefined
      ? tf.add(fastMatMul(state.h, weightHhT), p(params, "core.biasHh"))
      : lin(params, "core", state.h, "core.weightHh", "core.biasHh")
  ) as tf.Tensor2D;
  if (cell === "gru") {
    const [xr, xz, xn] = tf.split(xi, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    const [hr, hz, hn] = tf.split(gh, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    const r = tf.sigmoid(tf.add(xr, hr));
    const z = tf.sigmoid(tf.add(xz, hz));
    const n = tf.tanh(tf.add(xn, tf.mul(r, hn)));
    return { h: tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, state.h)) as tf.Tensor2D };
  }
  const [gi, gf, gg, go] = tf.split(tf.add(xi, gh), 4, 1) as [
    tf.Tensor2D,
    tf.Tensor2D,
    tf.Tensor2D,
    tf.Tensor2D,
  ];
  const c = tf.add(
    tf.mul(tf.sigmoid(gf), state.c as tf.Tensor2D),
    tf.mul(tf.sigmoid(gi), tf.tanh(gg)),
  ) as tf.Tensor2D;
  return { h: tf.mul(tf.sigmoid(go), tf.tanh(c)) as tf.Tensor2D, c };
}

/** Actor MLP: Linear(H, Ha) - LeakyReLU - Linear(Ha, Ha) - LeakyReLU - Linear(Ha, A). */
export function rnnActor(h: tf.Tensor2D, params: Params): tf.Tensor2D {
  const a0 = tf.leakyRelu(lin(params, "actorBody.0", h), LEAKY_RELU_SLOPE);
  const a1 = tf.leakyRelu(lin(params, "actorBody.1", a0), LEAKY_RELU_SLOPE);
  return lin(params, "actorHead", a1);
}

function embed(obs: tf.Tensor2D, params: Params): tf.Tensor2D {
  const h = layerNorm(lin(params, "featureMap", obs));
  return tf.leakyRelu(lin(params, "preprocessor", h), LEAKY_RELU_SLOPE);
}

export interface RnnSequenceOutput {
  /** [T*B, A] */
  readonly logits: tf.Tensor2D;
  readonly final: RnnState;
}

/**
 * The policy over a whole sequence: obs [T*B, O] (t major), the state zeroed before step t where
 * `episodeStarts[t, b] = 1` (h and c). Differentiable with respect to `params`.
 */
export function rnnSequence(
  cell: RnnCell,
  obs: tf.Tensor2D,
  starts: tf.Tensor2D,
  initial: RnnState,
  params: Params,
): RnnSequenceOutput {
  const [T, B] = starts.shape;
  const x = embed(obs, params);
  // The input projection of every step at once.
  const xiAll = tf.unstack(
    tf.reshape(linear(x, p(params, "core.weightIh"), p(params, "core.biasIh")), [T, B, -1]),
  ) as tf.Tensor2D[];
  const keeps = tf.unstack(tf.expandDims(tf.sub(1, starts), 2)) as tf.Tensor2D[];
  // One transpose of the recurrent matrix for all steps (its gradient is summed once, too).
  const weightHhT = tf.transpose(p(params, "core.weightHh"));
  let state = initial;
  const outs: tf.Tensor2D[] = [];
  for (let t = 0; t < T; t++) {
    const keep = keeps[t] as tf.Tensor2D;
    const reset: RnnState = {
      h: tf.mul(state.h, keep) as tf.Tensor2D,
      ...(state.c !== undefined ? { c: tf.mul(state.c, keep) as tf.Tensor2D } : {}),
    };
    state = rnnCell(cell, xiAll[t] as tf.Tensor2D, reset, params, weightHhT);
    outs.push(state.h);
  }
  return { logits: rnnActor(tf.concat(outs, 0), params), final: state };
}

interface CoreBpttOut {
  /** Outputs h_t of all steps [T*B, H]. */
  readonly hAll: tf.Tensor2D;
  readonly final: RnnState;
  /** Gradient of the input projections [T*B, G]. */
  readonly dxi: tf.Tensor2D;
  readonly dWeightHh: tf.Tensor;
  readonly dBiasHh: tf.Tensor;
  readonly headGrads: Record<string, tf.Tensor>;
}

/**
 * The recurrent core over T steps with a written-out backward pass (inside the caller's tidy).
 * Forward keeps each step's reset input state and gates; `head` maps all outputs [T*B, H] to the
 * gradient at every h_t (and its own parameter gradients). Backward runs the PyTorch cell
 * equations in reverse, applying the reset masks, and sums the recurrent-weight gradient over all
 * steps with one matmul (K = T*B) instead of one per step.
 */
function rnnCoreBptt(
  cell: RnnCell,
  xi: tf.Tensor2D,
  starts: tf.Tensor2D,
  initial: RnnState,
  weightHh: tf.Tensor,
  biasHh: tf.Tensor,
  head: (hAll: tf.Tensor2D) => { dh: tf.Tensor2D; grads: Record<string, tf.Tensor> },
): CoreBpttOut {
  const [T, B] = starts.shape;
  // Per-step rows are cut on the JS side: slicing or unstacking a large tensor on the wasm
  // backend costs milliseconds per slice (it reads the whole source), uploads cost microseconds.
  const steps = (x: tf.Tensor2D): tf.Tensor2D[] => {
    const data = x.dataSync() as Float32Array;
    const width = x.shape[1];
    return Array.from({ length: T }, (_, t) =>
      tf.tensor2d(data.subarray(t * B * width, (t + 1) * B * width), [B, width]),
    );
  };
  const xiSteps = steps(xi);
  const startData = starts.dataSync();
  const keeps = Array.from({ length: T }, (_, t) =>
    tf.tensor2d(
      Float32Array.from(startData.subarray(t * B, (t + 1) * B), (v) => 1 - v),
      [B, 1],
    ),
  );
  const wT = tf.transpose(weightHh) as tf.Tensor2D;
  const hIn: tf.Tensor2D[] = [];
  const cIn: tf.Tensor2D[] = [];
  const saved: tf.Tensor2D[][] = [];
  const outs: tf.Tensor2D[] = [];
  let h = initial.h;
  let c = initial.c;
  for (let t = 0; t < T; t++) {
    const keep = keeps[t] as tf.Tensor2D;
    const hr = tf.mul(h, keep) as tf.Tensor2D;
    hIn.push(hr);
    const gh = tf.add(tf.matMul(hr, wT), biasHh) as tf.Tensor2D;
    const x = xiSteps[t] as tf.Tensor2D;
    if (cell === "gru") {
      const [xr, xz, xn] = tf.split(x, 3, 1) as tf.Tensor2D[];
      const [hr_, hz, hn] = tf.split(gh, 3, 1) as tf.Tensor2D[];
      const r = tf.sigmoid(tf.add(xr as tf.Tensor2D, hr_ as tf.Tensor2D)) as tf.Tensor2D;
      const z = tf.sigmoid(tf.add(xz as tf.Tensor2D, hz as tf.Tensor2D)) as tf.Tensor2D;
      const n = tf.tanh(tf.add(xn as tf.Tensor2D, tf.mul(r, hn as tf.Tensor2D))) as tf.Tensor2D;
      saved.push([r, z, n, hn as tf.Tensor2D]);
      h = tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, hr)) as tf.Tensor2D;
    } else {
      const cr = tf.mul(c as tf.Tensor2D, keep) as tf.Tensor2D;
      cIn.push(cr);
      const [ai, af, ag, ao] = tf.split(tf.add(x, gh), 4, 1) as tf.Tensor2D[];
      const i = tf.sigmoid(ai as tf.Tensor2D) as tf.Tensor2D;
      const f = tf.sigmoid(af as tf.Tensor2D) as tf.Tensor2D;
      const g = tf.tanh(ag as tf.Tensor2D) as tf.Tensor2D;
      const o = tf.sigmoid(ao as tf.Tensor2D) as tf.Tensor2D;
      c = tf.add(tf.mul(f, cr), tf.mul(i, g)) as tf.Tensor2D;
      const tc = tf.tanh(c) as tf.Tensor2D;
      saved.push([i, f, g, o, tc]);
      h = tf.mul(o, tc) as tf.Tensor2D;
    }
    outs.push(h);
  }
  const hAll = tf.concat(outs, 0) as tf.Tensor2D;
  const top = head(hAll);
  const dhSteps = steps(top.dh);
  const dGates: tf.Tensor2D[] = new Array(T);
  const dGh: tf.Tensor2D[] = new Array(T);
  let carryH: tf.Tensor2D | undefined;
  let carryC: tf.Tensor2D | undefined;
  for (let t = T - 1; t >= 0; t--) {
    const incomingH = carryH;
    const incomingC = carryC;
    // Per-step tidy: only the gate gradients and the carries survive the step.
    const step = tf.tidy(() => {
      const dh =
        incomingH === undefined
          ? (dhSteps[t] as tf.Tensor2D)
          : (tf.add(dhSteps[t] as tf.Tensor2D, incomingH) as tf.Tensor2D);
      const keep = keeps[t] as tf.Tensor2D;
      if (cell === "gru") {
        const [r, z, n, hn] = saved[t] as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        const hr = hIn[t] as tf.Tensor2D;
        const dn = tf.mul(dh, tf.sub(1, z));
        const dz = tf.mul(dh, tf.sub(hr, n));
        const dan = tf.mul(dn, tf.sub(1, tf.square(n)));
        const dar = tf.mul(tf.mul(dan, hn), tf.mul(r, tf.sub(1, r)));
        const daz = tf.mul(dz, tf.mul(z, tf.sub(1, z)));
        const dgh = tf.concat([dar, daz, tf.mul(dan, r)], 1) as tf.Tensor2D;
        const dhIn = tf.add(tf.mul(dh, z), tf.matMul(dgh, weightHh as tf.Tensor2D));
        return [tf.concat([dar, daz, dan], 1), dgh, tf.mul(dhIn, keep)];
      }
      const [i, f, g, o, tc] = saved[t] as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      const fromH = tf.mul(tf.mul(dh, o), tf.sub(1, tf.square(tc)));
      const dcTotal = incomingC === undefined ? fromH : tf.add(fromH, incomingC);
      const dai = tf.mul(tf.mul(dcTotal, g), tf.mul(i, tf.sub(1, i)));
      const daf = tf.mul(tf.mul(dcTotal, cIn[t] as tf.Tensor2D), tf.mul(f, tf.sub(1, f)));
      const dag = tf.mul(tf.mul(dcTotal, i), tf.sub(1, tf.square(g)));
      const dao = tf.mul(tf.mul(dh, tc), tf.mul(o, tf.sub(1, o)));
      const dgates = tf.concat([dai, daf, dag, dao], 1) as tf.Tensor2D;
      const dhIn = tf.matMul(dgates, weightHh as tf.Tensor2D);
      return [dgates, dgates.clone(), tf.mul(dhIn, keep), tf.mul(tf.mul(dcTotal, f), keep)];
    }) as tf.Tensor2D[];
    dGates[t] = step[0] as tf.Tensor2D;
    dGh[t] = step[1] as tf.Tensor2D;
    carryH?.dispose();
    carryC?.dispose();
    carryH = step[2];
    carryC = step[3];
  }
  const dGhAll = tf.concat(dGh, 0) as tf.Tensor2D;
  const hInAll = tf.concat(hIn, 0) as tf.Tensor2D;
  return {
    hAll,
    final: c !== undefined ? { h, c } : { h },
    dxi: tf.concat(dGates, 0) as tf.Tensor2D,
    dWeightHh: tf.matMul(tf.transpose(dGhAll), hInAll),
    dBiasHh: tf.sum(dGhAll, 0),
    headGrads: top.grads,
  };
}

export interface RnnGradients {
  readonly totalLoss: number;
  readonly policyLoss: number;
  readonly entropyLoss: number;
  readonly grads: TensorMap;
  readonly record?: { logits: tf.Tensor2D; logProbs: tf.Tensor1D; entropy: tf.Tensor1D; final: RnnState };
}

/** A GRU or LSTM policy with its parameters. */
export class RnnPolicy {
  constructor(
    readonly config: RnnConfig,
    readonly params: ParamMap,
  ) {
    validateRnnConfig(config);
    for (const [name, shape] of Object.entries(expectedShapes(config))) {
      const t = getParam(params, name);
      if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
        throw new RecurrentConfigError(`parameter ${name} has shape [${t.shape}], expected [${shape}]`);
      }
    }
  }

  static create(config: RnnConfig, rng: Rng): RnnPolicy {
    return new RnnPolicy(config, initRnn(config, rng));
  }

  /** Parameters by name (the variables themselves). */
  record(): Record<string, tf.Tensor> {
    return Object.fromEntries(this.params) as Record<string, tf.Tensor>;
  }

  zeroState(numEnvs: number): RnnState {
    const h = tf.zeros([numEnvs, this.config.hiddenSize]) as tf.Tensor2D;
    return this.config.cell === "lstm"
      ? { h, c: tf.zeros([numEnvs, this.config.hiddenSize]) as tf.Tensor2D }
      : { h };
  }

  /** One rollout step (new tensors): reset where starts[b] = 1, step, logits [B, A]. */
  /**
   * One rollout step (new tensors): reset where starts[b] = 1, step, logits [B, A]. `cached` may
   * hold {@link withTransposedWeights} of the parameters (saves a transpose per layer and step).
   */
  step(
    state: RnnState,
    starts: tf.Tensor,
    obs: tf.Tensor2D,
    cached?: Readonly<Record<string, tf.Tensor>>,
  ): { state: RnnState; logits: tf.Tensor2D } {
    if (obs.shape[1] !== this.config.obsDim) {
      throw new RecurrentInputError(
        `observation width ${obs.shape[1]} does not match the policy's obsDim ${this.config.obsDim}`,
      );
    }
    const params = cached ?? this.record();
    const out = tf.tidy(() => {
      const keep = tf.expandDims(tf.sub(1, starts), 1);
      const x = embed(obs, params);
      const xi = lin(params, "core", x, "core.weightIh", "core.biasIh");
      const reset: RnnState = {
        h: tf.mul(state.h, keep) as tf.Tensor2D,
        ...(state.c !== undefined ? { c: tf.mul(state.c, keep) as tf.Tensor2D } : {}),
      };
      const next = rnnCell(this.config.cell, xi, reset, params);
      return { h: next.h, c: next.c, logits: rnnActor(next.h, params) } as unknown as tf.TensorContainer;
    }) as unknown as { h: tf.Tensor2D; c?: tf.Tensor2D; logits: tf.Tensor2D };
    return { state: out.c !== undefined ? { h: out.h, c: out.c } : { h: out.h }, logits: out.logits };
  }

  /** Loss and gradients of totalLoss for every parameter over a batch (tfjs autodiff through time). */
  gradients(
    batch: SequenceBatch,
    lt: LossTensors,
    entropyCoef: number,
    opts: { initial?: RnnState; record?: boolean } = {},
  ): RnnGradients {
    const names = [...this.params.keys()];
    const T = batch.numSteps;
    const B = batch.numEnvs;
    const cell = this.config.cell;
    const lossInputs = {
      actionsOneHot: lt.actionsOneHot,
      normalizedReturns: lt.normalizedReturns,
      valid: lt.valid,
      entropyCoef,
    };
    const out = tf.tidy(() => {
      const starts = tf.tensor2d(Float32Array.from(batch.episodeStarts as ArrayLike<number>), [T, B]);
      const initial = opts.initial ?? this.zeroState(B);
      const params = this.record();
      // Embedding and input projection of all steps at once (tfjs autodiff, one dy later).
      const inNames = [
        "featureMap.weight",
        "featureMap.bias",
        "preprocessor.weight",
        "preprocessor.bias",
        "core.weightIh",
        "core.biasIh",
      ];
      const inputFn = (...xs: tf.Tensor[]) => {
        const q = Object.fromEntries(inNames.map((n, i) => [n, xs[i] as tf.Tensor]));
        return linear(embed(lt.obs, q), p(q, "core.weightIh"), p(q, "core.biasIh"));
      };
      const inParams = inNames.map((n) => p(params, n));
      const xi = inputFn(...inParams);
      const core = rnnCoreBptt(
        cell,
        xi,
        starts,
        initial,
        p(params, "core.weightHh"),
        p(params, "core.biasHh"),
        (hAll) => {
          // Actor and loss over all steps at once; returns the gradient at every h_t.
          const headNames = [
            "actorBody.0.weight",
            "actorBody.0.bias",
            "actorBody.1.weight",
            "actorBody.1.bias",
            "actorHead.weight",
            "actorHead.bias",
          ];
          const lossFn = (...xs: tf.Tensor[]) => {
            const q = Object.fromEntries(headNames.map((n, i) => [n, xs[i + 1] as tf.Tensor]));
            return reinforceLoss(rnnActor(xs[0] as tf.Tensor2D, q), lossInputs).totalLoss;
          };
          const g = tf.grads(lossFn)([hAll, ...headNames.map((n) => p(params, n))]);
          return {
            dh: g[0] as tf.Tensor2D,
            grads: Object.fromEntries(headNames.map((n, i) => [n, g[i + 1] as tf.Tensor])),
          };
        },
      );
      const inGrads = tf.grads(inputFn)(inParams, core.dxi);
      const all: Record<string, tf.Tensor> = {
        ...Object.fromEntries(inNames.map((n, i) => [n, inGrads[i] as tf.Tensor])),
        "core.weightHh": core.dWeightHh,
        "core.biasHh": core.dBiasHh,
        ...core.headGrads,
      };
      const grads = names.map((n) => all[n] as tf.Tensor);
      const logits = rnnActor(core.hAll, params);
      const loss = reinforceLoss(logits, lossInputs);
      return {
        grads,
        scalars: tf.stack([loss.totalLoss, loss.policyLoss, loss.entropyLoss]),
        logits,
        logProbs: loss.logProbs,
        entropy: loss.entropy,
        h: core.final.h,
        c: core.final.c,
      } as unknown as tf.TensorContainer;
    }) as unknown as {
      grads: tf.Tensor[];
      scalars: tf.Tensor1D;
      logits: tf.Tensor2D;
      logProbs: tf.Tensor1D;
      entropy: tf.Tensor1D;
      h: tf.Tensor2D;
      c?: tf.Tensor2D;
    };
    const s = out.scalars.dataSync();
    out.scalars.dispose();
    const grads: TensorMap = new Map(names.map((n, i) => [n, out.grads[i] as tf.Tensor]));
    let record: RnnGradients["record"];
    if (opts.record) {
      record = {
        logits: out.logits,
        logProbs: out.logProbs,
        entropy: out.entropy,
        final: out.c !== undefined ? { h: out.h, c: out.c } : { h: out.h },
      };
    } else {
      for (const t of [out.logits, out.logProbs, out.entropy, out.h, out.c]) t?.dispose();
    }
    return {
      totalLoss: s[0] as number,
      policyLoss: s[1] as number,
      entropyLoss: s[2] as number,
      grads,
      ...(record !== undefined ? { record } : {}),
    };
  }

  dispose(): void {
    for (const t of this.params.values()) t.dispose();
  }
}
