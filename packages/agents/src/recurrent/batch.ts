import * as tf from "@tensorflow/tfjs-core";
import { maskedMean } from "../reinforce/loss.js";
import { discountedReturns, normalizeReturns } from "../reinforce/returns.js";
import { RecurrentInputError } from "./params.js";

/**
 * One rollout of B environments over T steps, all arrays row-major with t major (index t*B + b).
 * After termination an environment keeps showing its last observation and its rows are invalid.
 */
export interface SequenceBatch {
  readonly numSteps: number;
  readonly numEnvs: number;
  /** [T, B, O] */
  readonly obs: Float32Array;
  /** [T, B], 1 where the hidden state is zeroed before the step. */
  readonly episodeStarts: ArrayLike<number>;
  /** [T, B] action indices (also set at invalid steps). */
  readonly actions: ArrayLike<number>;
  /** [T, B] rewards used for training (0 at invalid steps). */
  readonly rewards: ArrayLike<number>;
  /** [T, B] done flags. */
  readonly dones: ArrayLike<number>;
  /** [T, B] 1 while the environment's episode runs. */
  readonly valid: ArrayLike<number>;
}

export interface LossHyper {
  readonly gamma: number;
  readonly entropyCoef: number;
  /** Normalise the valid returns to mean 0, std 1 (paper: yes); otherwise the raw returns. */
  readonly normalizeReturns?: boolean;
}

/** Tensors of a batch every policy's loss needs; dispose with {@link disposeLossTensors}. */
export interface LossTensors {
  /** [T*B, O] */
  readonly obs: tf.Tensor2D;
  readonly actionsOneHot: tf.Tensor2D;
  readonly normalizedReturns: tf.Tensor1D;
  readonly valid: tf.Tensor1D;
  readonly returns: Float64Array;
  readonly normalized: Float64Array;
}

/** Checks every array of the batch against the model's sizes, with the offending value in the message. */
export function validateBatch(batch: SequenceBatch, obsDim: number, numActions: number): void {
  const { numSteps: t, numEnvs: b } = batch;
  if (!Number.isSafeInteger(t) || t < 1 || !Number.isSafeInteger(b) || b < 1) {
    throw new RecurrentInputError(`batch needs positive numSteps and numEnvs, got ${t} x ${b}`);
  }
  const n = t * b;
  if (batch.obs.length !== n * obsDim) {
    throw new RecurrentInputError(
      `observations have ${batch.obs.length} values; the policy expects ${t} x ${b} x obsDim ${obsDim} = ${n * obsDim}`,
    );
  }
  for (const key of ["episodeStarts", "actions", "rewards", "dones", "valid"] as const) {
    if (batch[key].length !== n) {
      throw new RecurrentInputError(`${key} has ${batch[key].length} entries, expected ${t} x ${b} = ${n}`);
    }
  }
  for (let k = 0; k < n; k++) {
    const a = batch.actions[k] as number;
    if (!Number.isInteger(a) || a < 0 || a >= numActions) {
      throw new RecurrentInputError(`action ${a} at row ${k} is outside 0..${numActions - 1}`);
    }
  }
}

export function lossTensors(
  batch: SequenceBatch,
  obsDim: number,
  numActions: number,
  hyper: LossHyper,
): LossTensors {
  validateBatch(batch, obsDim, numActions);
  const n = batch.numSteps * batch.numEnvs;
  const returns = discountedReturns(
    batch.rewards,
    batch.dones,
    batch.valid,
    batch.numSteps,
    batch.numEnvs,
    hyper.gamma,
  );
  const normalized =
    hyper.normalizeReturns === false
      ? Float64Array.from(returns, (r, k) => (batch.valid[k] ? r : 0))
      : normalizeReturns(returns, batch.valid);
  const oneHot = new Float32Array(n * numActions);
  for (let k = 0; k < n; k++) oneHot[k * numActions + (batch.actions[k] as number)] = 1;
  return {
    obs: tf.tensor2d(batch.obs, [n, obsDim]),
    actionsOneHot: tf.tensor2d(oneHot, [n, numActions]),
    normalizedReturns: tf.tensor1d(Float32Array.from(normalized)),
    valid: tf.tensor1d(Float32Array.from(batch.valid as ArrayLike<number>)),
    returns,
    normalized,
  };
}

export function disposeLossTensors(t: LossTensors): void {
  t.obs.dispose();
  t.actionsOneHot.dispose();
  t.normalizedReturns.dispose();
  t.valid.dispose();
}

export { maskedMean };
