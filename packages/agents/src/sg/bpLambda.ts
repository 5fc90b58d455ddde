/**
 * Accumulate BP(lambda) (Pemberton & Costa, "BP(lambda): Online Learning via Synthetic Gradients",
 * TMLR 2024): learning a synthetic-gradient predictor fully online, with forward eligibility
 * traces, the way accumulate TD(lambda) learns a value function.
 *
 * Notation (per batch element; gradients are row vectors):
 *   s_t        the state the synthesiser reads (I values), g_t = gHat(s_t) = theta s_t + b (O values),
 *              a prediction of the gradient of all losses after t with respect to the state at t
 *   J_t        = d state_t / d state_{t-1}, O x O (the space the gradient lives in)
 *   l_t        = dL_t / d state_t, the gradient of the loss at step t itself
 * The lambda-weighted target (the paper's eq. 11), with G_T = gHat_T = 0 at the final step:
 *   G_t = (l_{t+1} + gamma ((1 - lambda) gHat_{t+1} + lambda G_{t+1})) J_{t+1}
 * lambda = 0 is one-step bootstrapping ((l_{t+1} + gamma gHat_{t+1}) J_{t+1}), lambda = 1 with
 * gamma = 1 the true gradient of the future losses (what full BPTT would deliver).
 * The offline update is sum_t (G_t - gHat_t) d gHat_t / d params. Algorithm 1 computes the same
 * sum online from the TD errors and eligibility traces
 *   delta_t = (l_{t+1} + gamma gHat_{t+1}) J_{t+1} - gHat_t
 *   e_t     = gamma lambda J_t e_{t-1} + d gHat_t / d params
 *   update  += delta_t e_t
 * exactly when the synthesiser is frozen during the sequence (the paper's Theorem; tested to 1e-6
 * in float64). As in the authors' code, each step's batch-mean update may be norm-clipped to 1
 * (`stepClipNorm`), which the theorem check turns off.
 *
 * Plain float64 arrays, no tfjs: the rule runs once per time step on small matrices, and the
 * theorem check needs float64. Shared by @sgprop/bp-lambda (its tasks and baselines) and meant for
 * the recurrent SparseNet's predictors.
 */

import { addClipped, LambdaReplay } from "./bpLambdaReplay.js";
import {
  affineRows,
  DenseRowJacobian,
  denseJacobian,
  type RowJacobian,
  rowTimesJacobian,
} from "./rowJacobian.js";

export * from "./rowJacobian.js";

/** Settings of one BP(lambda) rule; BP(0), BP(0.5), BP(1) differ only in `lambda`. */
export interface BpLambdaOptions {
  /** Trace decay lambda in [0, 1]: 0 bootstraps after one step, 1 waits for the true gradient. */
  readonly lambda: number;
  /** Discount gamma in [0, 1] of future gradients (1 on the toy task, 0.9 elsewhere in the code). */
  readonly gamma?: number;
  /**
   * Clip the norm of each step's batch-mean update of each parameter to this value (the authors'
   * code uses 1). Infinity turns it off, which makes the online sum equal the offline one.
   */
  readonly stepClipNorm?: number;
  /**
   * How the sum delta_t e_t is computed. "traces": Algorithm 1 literally, the traces carried
   * forward (O^3 I work per step and example). "replay": the same numbers obtained by carrying
   * delta_t backwards through the stored Jacobians, v_{s-1} = gamma lambda v_s J_s, adding
   * v_s (x) s_s (t O (O + I) work per step; cheaper whenever t < O^2). Both give each step's update
   * (and so its clipping) identically up to rounding (tested); default "replay".
   */
  readonly implementation?: "traces" | "replay";
}

/** Defaults of the authors' code (synthesiser.py: gamma 1 unless configured, clip 1 per step). */
export const BP_LAMBDA_DEFAULTS = { gamma: 1, stepClipNorm: 1, implementation: "replay" } as const;

/** A linear synthesiser gHat(s) = theta s + b, initialised at zero (as Jaderberg et al. do). */
export class LinearSynthesiser {
  /** [outputSize, inputSize], row-major. */
  readonly theta: Float64Array;
  /** [outputSize]. */
  readonly bias: Float64Array;

  constructor(
    readonly inputSize: number,
    readonly outputSize: number = inputSize,
  ) {
    if (!(Number.isInteger(inputSize) && inputSize > 0 && Number.isInteger(outputSize) && outputSize > 0)) {
      throw new RangeError(`synthesiser sizes must be positive integers, got ${inputSize} -> ${outputSize}`);
    }
    this.theta = new Float64Array(outputSize * inputSize);
    this.bias = new Float64Array(outputSize);
  }

  /** gHat for a batch: states [B, I] -> out [B, O]. */
  predict(
    states: Float64Array,
    batch: number,
    out = new Float64Array(batch * this.outputSize),
  ): Float64Array {
    return affineRows(this.theta, this.bias, states, batch, this.outputSize, this.inputSize, out);
  }
}

function checkOptions(options: BpLambdaOptions): Required<BpLambdaOptions> {
  const gamma = options.gamma ?? BP_LAMBDA_DEFAULTS.gamma;
  const stepClipNorm = options.stepClipNorm ?? BP_LAMBDA_DEFAULTS.stepClipNorm;
  if (!(options.lambda >= 0 && options.lambda <= 1))
    throw new RangeError(`lambda must be in [0, 1], got ${options.lambda}`);
  if (!(gamma >= 0 && gamma <= 1)) throw new RangeError(`gamma must be in [0, 1], got ${gamma}`);
  if (!(stepClipNorm > 0)) throw new RangeError(`stepClipNorm must be > 0, got ${stepClipNorm}`);
  const implementation = options.implementation ?? BP_LAMBDA_DEFAULTS.implementation;
  if (implementation !== "traces" && implementation !== "replay") {
    throw new RangeError(`implementation must be "traces" or "replay", got ${String(implementation)}`);
  }
  return { lambda: options.lambda, gamma, stepClipNorm, implementation };
}

/** One time step as the learner sees it. */
export interface BpLambdaStep {
  /** The synthesiser's input at this step, [B, I]. */
  readonly state: Float64Array;
  /**
   * d state_t / d state_{t-1} in gradient space, dense [B, O, O] (copied) or a `RowJacobian`
   * (kept by reference until the next `begin()`: it must not change meanwhile); ignored at the
   * first step.
   */
  readonly jacobian: Float64Array | RowJacobian | null;
  /** dL_t / d state_t, [B, O], or null when this step has no loss. */
  readonly immediate: Float64Array | null;
  /** The last step of the sequence: nothing follows, so its prediction is 0. */
  readonly final: boolean;
}

/**
 * The online learner of Algorithm 1 for a linear synthesiser. Call `begin()` at the start of each
 * sequence, `step()` once per time step; the accumulated update (an ascent direction on the
 * parameters, batch-mean per step) is in `gradTheta`/`gradBias` until `clearUpdate()`. The
 * synthesiser's parameters are not changed here: the caller feeds the update to its optimiser
 * (the authors step Adam once per batch, so the synthesiser is frozen within a sequence).
 */
export class BpLambdaLearner {
  readonly options: Required<BpLambdaOptions>;
  /** Squared norms of the TD errors of the last sequence, one per update (a diagnostic). */
  readonly tdErrorNorms: number[] = [];
  private readonly updateTheta: Float64Array;
  private readonly updateBias: Float64Array;
  /** Traces: theta [B, O(gradient dim), O, I], bias [B, O, O] (allocated by "traces" only). */
  private traceTheta = new Float64Array(0);
  private traceBias = new Float64Array(0);
  private scratchTheta = new Float64Array(0);
  private scratchBias = new Float64Array(0);
  private prevState: Float64Array;
  private prevJacobian = new Float64Array(0);
  private prevPrediction: Float64Array;
  private havePrev = false;
  private haveTrace = false;
  private readonly stepTheta: Float64Array;
  private readonly stepBias: Float64Array;
  /** "replay": the sequence's states, Jacobians and deferred TD errors. */
  private readonly replay: LambdaReplay;
  private readonly carried: Float64Array;
  private readonly delta: Float64Array;

  constructor(
    readonly synthesiser: LinearSynthesiser,
    readonly batch: number,
    options: BpLambdaOptions,
  ) {
    this.options = checkOptions(options);
    const I = synthesiser.inputSize;
    const O = synthesiser.outputSize;
    this.updateTheta = new Float64Array(O * I);
    this.updateBias = new Float64Array(O);
    if (this.options.implementation === "traces") {
      this.traceTheta = new Float64Array(batch * O * O * I);
      this.traceBias = new Float64Array(batch * O * O);
      this.scratchTheta = new Float64Array(batch * O * O * I);
      this.scratchBias = new Float64Array(batch * O * O);
      this.prevJacobian = new Float64Array(batch * O * O);
    }
    this.prevState = new Float64Array(batch * I);
    this.prevPrediction = new Float64Array(batch * O);
    this.stepTheta = new Float64Array(O * I);
    this.stepBias = new Float64Array(O);
    this.replay = new LambdaReplay(batch, I, O, this.options.gamma * this.options.lambda);
    this.carried = new Float64Array(batch * O);
    this.delta = new Float64Array(batch * O);
  }

  /**
   * The accumulated update of theta (an ascent direction, batch-mean per step) until `clearUpdate()`.
   * Reading it runs the replays deferred so far.
   */
  get gradTheta(): Float64Array {
    this.flush();
    return this.updateTheta;
  }

  /** The accumulated update of the bias, as `gradTheta`. */
  get gradBias(): Float64Array {
    this.flush();
    return this.updateBias;
  }

  private flush(): void {
    if (this.replay.pending) this.replay.flush(this.updateTheta, this.updateBias, this.options.stepClipNorm);
  }

  /** Starts a sequence: traces and the remembered step are cleared (the update is kept). */
  begin(): void {
    this.flush();
    this.havePrev = false;
    this.haveTrace = false;
    this.tdErrorNorms.length = 0;
    this.replay.clear();
  }

  /** Zeroes the accumulated update (after the optimiser consumed it). */
  clearUpdate(): void {
    this.flush();
    this.updateTheta.fill(0);
    this.updateBias.fill(0);
  }

  /**
   * Processes step t: updates the prediction of step t-1 from its TD error and returns gHat(s_t)
   * (zeros at the final step), which the caller scales and feeds to the network.
   */
  step(step: BpLambdaStep): Float64Array {
    const { batch: B } = this;
    const O = this.synthesiser.outputSize;
    const prediction = step.final ? new Float64Array(B * O) : this.synthesiser.predict(step.state, B);
    const jacobian =
      step.jacobian === null
        ? null
        : step.jacobian instanceof Float64Array
          ? new DenseRowJacobian(Float64Array.from(step.jacobian.subarray(0, B * O * O)), B, O)
          : step.jacobian;
    if (this.havePrev) {
      if (!jacobian) throw new Error("BpLambdaLearner.step: a jacobian is needed after the first step");
      // TD error of the previous prediction: (l_t + gamma gHat_t) J_t - gHat_{t-1}.
      const carried = this.carried;
      for (let i = 0; i < B * O; i++) {
        carried[i] =
          (step.immediate ? (step.immediate[i] as number) : 0) +
          this.options.gamma * (prediction[i] as number);
      }
      const delta = jacobian.times(carried, this.delta);
      let sq = 0;
      for (let i = 0; i < B * O; i++) {
        delta[i] = (delta[i] as number) - (this.prevPrediction[i] as number);
        sq += (delta[i] as number) ** 2;
      }
      this.tdErrorNorms.push(sq);
      if (this.options.implementation === "traces") {
        this.updateTrace();
        this.accumulate(delta);
      } else {
        this.replay.pushDelta(delta);
      }
    }
    if (this.options.implementation === "replay") {
      this.replay.pushState(step.state, jacobian);
    } else if (jacobian) {
      this.prevJacobian.set(
        jacobian instanceof DenseRowJacobian ? jacobian.values : denseJacobian(jacobian, B, O),
      );
    } else this.prevJacobian.fill(0);
    this.prevState.set(step.state.subarray(0, B * this.synthesiser.inputSize));
    this.prevPrediction.set(prediction);
    this.havePrev = true;
    return prediction;
  }

  /** e_{t-1} = gamma lambda J_{t-1} e_{t-2} + d gHat(s_{t-1}) / d params, for the remembered step. */
  private updateTrace(): void {
    const { batch: B } = this;
    const I = this.synthesiser.inputSize;
    const O = this.synthesiser.outputSize;
    const decay = this.options.gamma * this.options.lambda;
    const P = O * I;
    const nextT = this.scratchTheta;
    const nextB = this.scratchBias;
    nextT.fill(0);
    nextB.fill(0);
    if (this.haveTrace && decay !== 0) {
      for (let n = 0; n < B; n++) {
        const jb = n * O * O;
        const tb = n * O * P;
        const bb = n * O * O;
        for (let i = 0; i < O; i++) {
          const outT = tb + i * P;
          const outB = bb + i * O;
          for (let j = 0; j < O; j++) {
            const a = decay * (this.prevJacobian[jb + i * O + j] as number);
            if (a === 0) continue;
            const inT = tb + j * P;
            for (let p = 0; p < P; p++)
              nextT[outT + p] = (nextT[outT + p] as number) + a * (this.traceTheta[inT + p] as number);
            const inB = bb + j * O;
            for (let k = 0; k < O; k++)
              nextB[outB + k] = (nextB[outB + k] as number) + a * (this.traceBias[inB + k] as number);
          }
        }
      }
    }
    // d gHat_i / d theta_{k,l} = [i == k] s_l and d gHat_i / d b_k = [i == k].
    for (let n = 0; n < B; n++) {
      for (let i = 0; i < O; i++) {
        const at = n * O * P + i * P + i * I;
        for (let l = 0; l < I; l++)
          nextT[at + l] = (nextT[at + l] as number) + (this.prevState[n * I + l] as number);
        const ab = n * O * O + i * O + i;
        nextB[ab] = (nextB[ab] as number) + 1;
      }
    }
    this.scratchTheta = this.traceTheta;
    this.scratchBias = this.traceBias;
    this.traceTheta = nextT;
    this.traceBias = nextB;
    this.haveTrace = true;
  }

  /** update += clip(mean_n delta_n e_n), per parameter. */
  private accumulate(delta: Float64Array): void {
    const { batch: B } = this;
    const I = this.synthesiser.inputSize;
    const O = this.synthesiser.outputSize;
    const P = O * I;
    this.stepTheta.fill(0);
    this.stepBias.fill(0);
    for (let n = 0; n < B; n++) {
      for (let i = 0; i < O; i++) {
        const d = (delta[n * O + i] as number) / B;
        if (d === 0) continue;
        const rowT = n * O * P + i * P;
        for (let p = 0; p < P; p++)
          this.stepTheta[p] = (this.stepTheta[p] as number) + d * (this.traceTheta[rowT + p] as number);
        const rowB = n * O * O + i * O;
        for (let k = 0; k < O; k++)
          this.stepBias[k] = (this.stepBias[k] as number) + d * (this.traceBias[rowB + k] as number);
      }
    }
    addClipped(this.updateTheta, this.stepTheta, this.options.stepClipNorm);
    addClipped(this.updateBias, this.stepBias, this.options.stepClipNorm);
  }
}

/**
 * The row vector that eq. 11 multiplies by J_{t+1}: l_{t+1} + gamma ((1 - lambda) gHat_{t+1} +
 * lambda G_{t+1}), with a null `immediate` (no loss at t+1) or `prediction` (the final step) read as
 * zeros. The one place where the lambda-weighting of the rule is written.
 */
export function lambdaCarry(
  immediate: ArrayLike<number> | null,
  prediction: ArrayLike<number> | null,
  next: ArrayLike<number>,
  options: BpLambdaOptions,
  out: Float64Array,
): Float64Array {
  const { lambda, gamma } = checkOptions(options);
  for (let i = 0; i < out.length; i++) {
    const bootstrap = prediction ? (prediction[i] as number) : 0;
    out[i] =
      (immediate ? (immediate[i] as number) : 0) +
      gamma * ((1 - lambda) * bootstrap + lambda * (next[i] as number));
  }
  return out;
}

/**
 * The lambda-return targets G_t of eq. 11 for a whole sequence, computed backwards (offline):
 * the reference the online rule is checked against. `predictions[t]` are gHat(s_t) [B, O] (the
 * final one is taken as zero), `jacobians[t]` = d state_t / d state_{t-1} [B, O, O] (t >= 1),
 * `immediate[t]` = dL_t / d state_t or null. Returns G_0..G_{T-1}, G_{T-1} being zero.
 */
export function lambdaReturnTargets(
  predictions: readonly Float64Array[],
  jacobians: readonly (Float64Array | null)[],
  immediate: readonly (Float64Array | null)[],
  batch: number,
  size: number,
  options: BpLambdaOptions,
): Float64Array[] {
  const { lambda, gamma } = checkOptions(options);
  const T = predictions.length;
  const targets: Float64Array[] = new Array(T);
  targets[T - 1] = new Float64Array(batch * size);
  for (let t = T - 2; t >= 0; t--) {
    const next = targets[t + 1] as Float64Array;
    const nextPrediction = t + 1 === T - 1 ? null : (predictions[t + 1] as Float64Array);
    const mixed = lambdaCarry(
      immediate[t + 1] ?? null,
      nextPrediction,
      next,
      { lambda, gamma },
      new Float64Array(batch * size),
    );
    const jac = jacobians[t + 1];
    if (!jac) throw new Error(`lambdaReturnTargets: missing jacobian at step ${t + 1}`);
    targets[t] = rowTimesJacobian(mixed, jac, batch, size, new Float64Array(batch * size));
  }
  return targets;
}

/**
 * The offline update sum_t mean_n (G_t - gHat_t) d gHat_t / d params for a linear synthesiser
 * (steps 0..T-2; the final step predicts nothing): what the Theorem says the traces accumulate.
 */
export function offlineLambdaUpdate(
  synthesiser: LinearSynthesiser,
  states: readonly Float64Array[],
  targets: readonly Float64Array[],
  batch: number,
): { theta: Float64Array; bias: Float64Array } {
  const I = synthesiser.inputSize;
  const O = synthesiser.outputSize;
  const theta = new Float64Array(O * I);
  const bias = new Float64Array(O);
  for (let t = 0; t + 1 < states.length; t++) {
    const s = states[t] as Float64Array;
    const prediction = synthesiser.predict(s, batch);
    const target = targets[t] as Float64Array;
    for (let n = 0; n < batch; n++) {
      for (let k = 0; k < O; k++) {
        const err = ((target[n * O + k] as number) - (prediction[n * O + k] as number)) / batch;
        bias[k] = (bias[k] as number) + err;
        for (let l = 0; l < I; l++)
          theta[k * I + l] = (theta[k * I + l] as number) + err * (s[n * I + l] as number);
      }
    }
  }
  return { theta, bias };
}

/**
 * Eq. 11 for a predictor p_t of the whole gradient at the state, immediate loss included (the
 * recurrent SparseNet's sgA/sgB): its synthetic future gradient is gHat_t = p_t - l_t, and its target
 * Z_t = l_t + G_t. Offline reference on explicit Jacobians (tests check the SparseNet against it).
 */
export function stateGradientLambdaTargets(
  predictions: readonly Float64Array[],
  jacobians: readonly (Float64Array | null)[],
  immediate: readonly (Float64Array | null)[],
  batch: number,
  size: number,
  options: BpLambdaOptions,
): Float64Array[] {
  const future = predictions.map((p, t) => {
    const l = immediate[t];
    return l ? p.map((v, i) => v - (l[i] as number)) : p;
  });
  const G = lambdaReturnTargets(future, jacobians, immediate, batch, size, options);
  return G.map((g, t) => {
    const l = immediate[t];
    return l ? g.map((v, i) => v + (l[i] as number)) : g;
  });
}

/**
 * The same targets as a backward pass that mixes. With gamma = 1, eq. 11's carry for the whole
 * gradient is l_{t+1} + (1 - lambda)(p_{t+1} - l_{t+1}) + lambda G_{t+1} = lambda Z_{t+1} +
 * (1 - lambda) p_{t+1}: what leaves state t+1 when the gradient Z_{t+1} arriving there is mixed with
 * the prediction at weight lambda; the gradient then arriving at state t is Z_t. At the last step
 * nothing follows (gHat = 0), i.e. weight 1. Returns the per-step weights [numSteps][width] (the
 * same for every neuron); predictions where nothing follows (after an episode's end) must be zero.
 */
export function stateGradientLambdaSchedule(numSteps: number, width: number, options: BpLambdaOptions) {
  const { lambda, gamma } = checkOptions(options);
  if (gamma !== 1) throw new RangeError(`the mixing form of eq. 11 needs gamma = 1, got ${gamma}`);
  const schedule = new Float64Array(numSteps * width).fill(lambda);
  schedule.fill(1, (numSteps - 1) * width);
  return schedule;
}
