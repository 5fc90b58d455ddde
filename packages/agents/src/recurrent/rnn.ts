import type { Rng } from "@sgprop/gym";
import * as tf from "@tensorflow/tfjs-core";
import { reinforceLoss } from "../reinforce/loss.js";
import type { LossTensors, SequenceBatch } from "./batch.js";
import { LEAKY_RELU_SLOPE, layerNorm, linear } from "./embedding.js";
import { fastMatMul } from "./matmul.js";
import {
  getParam,
  type ParamMap,
  RecurrentConfigError,
  RecurrentInputError,
  type TensorMap,
} from "./params.js";
import { rnnCoreBptt } from "./rnnBptt.js";
import {
  initRnn,
  type RnnCell,
  type RnnConfig,
  type RnnState,
  rnnParamShapes,
  validateRnnConfig,
} from "./rnnConfig.js";

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
    for (const [name, shape] of Object.entries(rnnParamShapes(config))) {
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
