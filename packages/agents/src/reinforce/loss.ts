import * as tf from "@tensorflow/tfjs-core";

export interface ReinforceLossInputs {
  /** One-hot actions [N, A] (a one-hot product keeps the loss differentiable on every backend). */
  readonly actionsOneHot: tf.Tensor2D;
  /** Normalised returns [N] (0 at invalid rows). */
  readonly normalizedReturns: tf.Tensor1D;
  /** 1 for valid rows, 0 otherwise [N]. */
  readonly valid: tf.Tensor1D;
  readonly entropyCoef: number;
}

export interface ReinforceLoss {
  readonly totalLoss: tf.Scalar;
  readonly policyLoss: tf.Scalar;
  readonly entropyLoss: tf.Scalar;
  readonly logProbs: tf.Tensor1D;
  readonly entropy: tf.Tensor1D;
}

/** sum(x * mask) / max(sum(mask), 1). */
export function maskedMean(x: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.div(tf.sum(tf.mul(x, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
}

/**
 * REINFORCE with an entropy bonus (golden README section 2):
 * totalLoss = -maskedMean(logProb * normalizedReturn) - entropyCoef * maskedMean(entropy),
 * the entropy being the full categorical entropy at every row.
 */
export function reinforceLoss(logits: tf.Tensor2D, inputs: ReinforceLossInputs): ReinforceLoss {
  const logp = tf.logSoftmax(logits);
  const logProbs = tf.sum(tf.mul(logp, inputs.actionsOneHot), -1) as tf.Tensor1D;
  const entropy = tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), -1)) as tf.Tensor1D;
  const policyLoss = tf.neg(
    maskedMean(tf.mul(logProbs, inputs.normalizedReturns), inputs.valid),
  ) as tf.Scalar;
  const entropyLoss = maskedMean(entropy, inputs.valid);
  const totalLoss = tf.sub(policyLoss, tf.mul(inputs.entropyCoef, entropyLoss)) as tf.Scalar;
  return { totalLoss, policyLoss, entropyLoss, logProbs, entropy };
}
