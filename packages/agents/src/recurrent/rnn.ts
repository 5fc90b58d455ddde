import type { Rng } from "@sgprop/gym";
import * as tf from "@tensorflow/tfjs-core";
import { reinforceLoss } from "../reinforce/loss.js";
import type { LossTensors, SequenceBatch } from "./batch.js";
import { embedObservations, LEAKY_RELU_SLOPE, linear } from "./embedding.js";
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
      : linear(state.h, p(params, "core.weightHh"), p(params, "core.biasHh"))
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
  const a0 = tf.leakyRelu(
    linear(h, p(params, "actorBody.0.weight"), p(params, "actorBody.0.bias")),
    LEAKY_RELU_SLOPE,
  );
  const a1 = tf.leakyRelu(
    linear(a0, p(params, "actorBody.1.weight"), p(params, "actorBody.1.bias")),
    LEAKY_RELU_SLOPE,
  );
  return linear(a1, p(params, "actorHead.weight"), p(params, "actorHead.bias"));
}

function embed(obs: tf.Tensor2D, params: Params): tf.Tensor2D {
  return embedObservations(
    obs,
    p(params, "featureMap.weight"),
    p(params, "featureMap.bias"),
    p(params, "preprocessor.weight"),
    p(params, "preprocessor.bias"),
  );
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

  private record(): Record<string, tf.Tensor> {
    return Object.fromEntries(this.params) as Record<string, tf.Tensor>;
  }

  zeroState(numEnvs: number): RnnState {
    const h = tf.zeros([numEnvs, this.config.hiddenSize]) as tf.Tensor2D;
    return this.config.cell === "lstm"
      ? { h, c: tf.zeros([numEnvs, this.config.hiddenSize]) as tf.Tensor2D }
      : { h };
  }

  /** One rollout step (new tensors): reset where starts[b] = 1, step, logits [B, A]. */
  step(state: RnnState, starts: tf.Tensor, obs: tf.Tensor2D): { state: RnnState; logits: tf.Tensor2D } {
    if (obs.shape[1] !== this.config.obsDim) {
      throw new RecurrentInputError(
        `observation width ${obs.shape[1]} does not match the policy's obsDim ${this.config.obsDim}`,
      );
    }
    const params = this.record();
    const out = tf.tidy(() => {
      const keep = tf.expandDims(tf.sub(1, starts), 1);
      const x = embed(obs, params);
      const xi = linear(x, p(params, "core.weightIh"), p(params, "core.biasIh"));
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
      const f = (...xs: tf.Tensor[]) => {
        const params = Object.fromEntries(names.map((n, i) => [n, xs[i] as tf.Tensor]));
        return reinforceLoss(rnnSequence(cell, lt.obs, starts, initial, params).logits, lossInputs).totalLoss;
      };
      const grads = tf.grads(f)(names.map((n) => getParam(this.params, n)));
      const seq = rnnSequence(cell, lt.obs, starts, initial, this.record());
      const loss = reinforceLoss(seq.logits, lossInputs);
      return {
        grads,
        scalars: tf.stack([loss.totalLoss, loss.policyLoss, loss.entropyLoss]),
        logits: seq.logits,
        logProbs: loss.logProbs,
        entropy: loss.entropy,
        h: seq.final.h,
        c: seq.final.c,
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
