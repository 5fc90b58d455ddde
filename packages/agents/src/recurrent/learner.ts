import { prewarmKernelThreads } from "@sgprop/kernels";
import * as tf from "@tensorflow/tfjs-core";
import { Adam } from "../optim/adam.js";
import { clipByGlobalNorm } from "../optim/clip.js";
import type { SgMode } from "../sgprop/mixing.js";
import { THETA_SCHEDULE_RHO, temporalThetaSchedule } from "../sgprop/thetaSchedule.js";
import { disposeLossTensors, type LossTensors, lossTensors, type SequenceBatch } from "./batch.js";
import { pick, RecurrentConfigError, type TensorMap } from "./params.js";
import type { RnnGradients, RnnPolicy } from "./rnn.js";
import type { RnnState } from "./rnnConfig.js";
import type { SgRule } from "./sgTargets.js";
import type { SparseNetPolicy } from "./sparsenet.js";
import { type BpttOptions, type BpttResult, sparseNetBptt } from "./sparsenetBptt.js";
import { SPARSENET_POLICY_PARAMS, SPARSENET_SG_PARAMS } from "./sparsenetConfig.js";

/** Hyper-parameters of one REINFORCE update (SPEC 4.4, 4.5, 5; paper values in {@link PAPER_UPDATE_HYPER}). */
export interface UpdateHyper {
  readonly algorithm: "sgprop" | "backprop";
  readonly learningRate: number;
  readonly sgLearningRate: number;
  readonly maxGradNorm: number;
  readonly gamma: number;
  readonly entropyCoef: number;
  /** Normalise the returns of each batch (paper: yes; unset means yes). */
  readonly normalizeReturns?: boolean;
  readonly adaptiveTheta: boolean;
  readonly thetaMomentum: number;
  readonly thetaRho: number;
  readonly sgMode: SgMode;
  /** What the SG predictors regress on: the mixed gradient (paper; unset means it) or BP(lambda)'s target. */
  readonly sgRule?: SgRule;
  /** Trace decay of `sgRule: "bp-lambda"` (unset: 1). */
  readonly sgLambda?: number;
}

export const PAPER_UPDATE_HYPER: UpdateHyper = {
  algorithm: "sgprop",
  learningRate: 1e-3,
  sgLearningRate: 1e-5,
  maxGradNorm: 0.5,
  gamma: 0.95,
  entropyCoef: 0.01,
  normalizeReturns: true,
  adaptiveTheta: true,
  thetaMomentum: 0.9,
  thetaRho: THETA_SCHEDULE_RHO,
  sgMode: "prediction",
};

/** Scalars of one update (NaN where a quantity does not apply to the model or algorithm). */
export interface UpdateStats {
  readonly totalLoss: number;
  readonly policyLoss: number;
  readonly entropyLoss: number;
  /** Global norm of the policy gradient before clipping. */
  readonly gradNorm: number;
  readonly sgLoss: number;
  readonly trueGradNorm: number;
  readonly mixedGradNorm: number;
  readonly predGradNorm: number;
}

/**
 * Adam of src/optim/adam.ts built inside a tidy: its constructor leaves the zero tensors it makes
 * variables from undisposed (tf.variable keeps its initial value alive), which would leak 2 tensors
 * per parameter; tidy releases them and keeps the variables.
 */
export function createAdam(params: Readonly<Record<string, tf.Variable>>, learningRate: number): Adam {
  let adam: Adam | undefined;
  tf.tidy(() => {
    adam = new Adam(params, { learningRate });
  });
  return adam as Adam;
}

function disposeMap(m: TensorMap | undefined): void {
  if (m !== undefined) for (const t of m.values()) t.dispose();
}

function clipAndStep(adam: Adam, grads: TensorMap, maxNorm: number): number {
  const { grads: clipped, norm } = clipByGlobalNorm(Object.fromEntries(grads), maxNorm);
  adam.step(clipped);
  for (const t of Object.values(clipped)) t.dispose();
  return norm;
}

/** Inspection hook called with the raw (unclipped) gradients of an update, before they are released. */
export type SparseNetInspector = (r: BpttResult, schedule: Float64Array | undefined) => void;

/**
 * The recurrent SparseNet with its optimisers and mixing weights. One {@link update} is the
 * paper's sgprop (or backprop) step: schedule from the current theta, forward, SG-mixed backward,
 * SG loss, adaptive theta (applied from the next update on), clipped policy Adam step, separately
 * clipped SG Adam step.
 */
export class SparseNetLearner {
  readonly policyAdam: Adam;
  readonly sgAdam: Adam | undefined;
  /** The model's per-neuron mixing weight (1 = backprop). */
  theta: Float64Array;

  constructor(
    readonly policy: SparseNetPolicy,
    readonly hyper: UpdateHyper,
    thetaInit: number | ArrayLike<number> = 1,
  ) {
    const w = policy.dims.W;
    this.theta =
      typeof thetaInit === "number"
        ? new Float64Array(w).fill(thetaInit)
        : Float64Array.from(thetaInit as ArrayLike<number>);
    if (this.theta.length !== w || this.theta.some((x) => !(x >= 0 && x <= 1))) {
      throw new RecurrentConfigError(
        `theta must hold ${w} values in [0, 1], got ${Array.from(this.theta).slice(0, 4).join(", ")}...`,
      );
    }
    this.policyAdam = createAdam(pick(policy.params, SPARSENET_POLICY_PARAMS), hyper.learningRate);
    this.sgAdam =
      hyper.algorithm === "sgprop"
        ? createAdam(pick(policy.params, SPARSENET_SG_PARAMS), hyper.sgLearningRate)
        : undefined;
    if (hyper.algorithm === "sgprop") prewarmKernelThreads();
  }

  /**
   * One update on a rollout. `forward` hands over the rollout's own forward trace (same
   * parameters), which is then not recomputed.
   */
  update(
    batch: SequenceBatch,
    opts: { initialHidden?: tf.Tensor; inspect?: SparseNetInspector; forward?: BpttOptions["forward"] } = {},
  ): UpdateStats {
    const h = this.hyper;
    const c = this.policy.config;
    const lt: LossTensors = lossTensors(batch, c.obsDim, c.numActions, h);
    let result: BpttResult | undefined;
    try {
      const sgprop = h.algorithm === "sgprop";
      const schedule = sgprop
        ? temporalThetaSchedule(this.theta, this.policy.graph, batch.numSteps, h.thetaRho)
        : undefined;
      result = sparseNetBptt(this.policy, batch, lt, {
        entropyCoef: h.entropyCoef,
        record: opts.inspect !== undefined,
        ...(opts.initialHidden !== undefined ? { initialHidden: opts.initialHidden } : {}),
        ...(opts.forward !== undefined ? { forward: opts.forward } : {}),
        ...(schedule !== undefined
          ? {
              mixing: {
                thetaSchedule: schedule,
                mode: h.sgMode,
                ...(h.adaptiveTheta ? { thetaPrev: this.theta } : {}),
                ...(h.sgRule === "bp-lambda" ? { bpLambda: { lambda: h.sgLambda ?? 1 } } : {}),
              },
            }
          : {}),
      });
      opts.inspect?.(result, schedule);
      if (result.thetaBatch !== undefined) {
        const mu = h.thetaMomentum;
        const tb = result.thetaBatch;
        this.theta = this.theta.map((t, i) => mu * t + (1 - mu) * (tb[i] as number));
      }
      const gradNorm = clipAndStep(this.policyAdam, result.grads, h.maxGradNorm);
      if (this.sgAdam !== undefined && result.sgGrads !== undefined)
        clipAndStep(this.sgAdam, result.sgGrads, h.maxGradNorm);
      return {
        totalLoss: result.totalLoss,
        policyLoss: result.policyLoss,
        entropyLoss: result.entropyLoss,
        gradNorm,
        sgLoss: result.sgLoss ?? Number.NaN,
        trueGradNorm: result.trueGradNorm,
        mixedGradNorm: sgprop ? result.mixedGradNorm : result.trueGradNorm,
        predGradNorm: sgprop ? result.predGradNorm : Number.NaN,
      };
    } finally {
      disposeLossTensors(lt);
      if (result !== undefined) {
        disposeMap(result.grads);
        disposeMap(result.sgGrads);
        const r = result.record;
        if (r !== undefined)
          for (const t of [r.logits, r.logProbs, r.entropy, r.trueGrad, r.mixedGrad, r.sgPrediction])
            t?.dispose();
      }
    }
  }

  dispose(): void {
    this.policyAdam.dispose();
    this.sgAdam?.dispose();
  }
}

/** A GRU or LSTM policy with its Adam: clipped REINFORCE updates through tfjs autodiff. */
export class RnnLearner {
  readonly adam: Adam;

  constructor(
    readonly policy: RnnPolicy,
    readonly hyper: UpdateHyper,
  ) {
    this.adam = createAdam(Object.fromEntries(policy.params), hyper.learningRate);
  }

  update(
    batch: SequenceBatch,
    opts: { initial?: RnnState; inspect?: (g: RnnGradients) => void } = {},
  ): UpdateStats {
    const c = this.policy.config;
    const lt = lossTensors(batch, c.obsDim, c.numActions, this.hyper);
    let g: RnnGradients | undefined;
    try {
      g = this.policy.gradients(batch, lt, this.hyper.entropyCoef, {
        record: opts.inspect !== undefined,
        ...(opts.initial !== undefined ? { initial: opts.initial } : {}),
      });
      opts.inspect?.(g);
      const gradNorm = clipAndStep(this.adam, g.grads, this.hyper.maxGradNorm);
      return {
        totalLoss: g.totalLoss,
        policyLoss: g.policyLoss,
        entropyLoss: g.entropyLoss,
        gradNorm,
        sgLoss: Number.NaN,
        trueGradNorm: Number.NaN,
        mixedGradNorm: Number.NaN,
        predGradNorm: Number.NaN,
      };
    } finally {
      disposeLossTensors(lt);
      if (g !== undefined) {
        disposeMap(g.grads);
        const r = g.record;
        if (r !== undefined)
          for (const t of [r.logits, r.logProbs, r.entropy, r.final.h, r.final.c]) t?.dispose();
      }
    }
  }

  dispose(): void {
    this.adam.dispose();
  }
}
