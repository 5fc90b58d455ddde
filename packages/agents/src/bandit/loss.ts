import * as tf from "@tensorflow/tfjs-core";

/** The bandit batch as tensors: contexts, the sampled actions and their rewards. */
export interface BanditTensors {
  /** [B, X] contexts. */
  readonly x: tf.Tensor;
  /** [B] int32 actions. */
  readonly actions: tf.Tensor;
  /** [B] float rewards. */
  readonly rewards: tf.Tensor;
}

/**
 * The bandit loss -mean_b(reward_b * log pi(a_b | x_b)) (SPEC 5, no baseline) and its gradient with
 * respect to the logits, dloss/dlogits = -(r / B) (onehot(a) - softmax(logits)).
 */
export function banditLoss(
  logits: tf.Tensor,
  actions: tf.Tensor,
  rewards: tf.Tensor,
): { loss: tf.Scalar; logProbs: tf.Tensor; dlogits: tf.Tensor } {
  const [b, a] = logits.shape as [number, number];
  const onehot = tf.oneHot(tf.cast(actions, "int32"), a);
  const logp = tf.logSoftmax(logits, -1);
  const logProbs = tf.sum(tf.mul(logp, onehot), 1);
  const loss = tf.neg(tf.mean(tf.mul(rewards, logProbs))) as tf.Scalar;
  const coef = tf.reshape(tf.div(tf.neg(rewards), b), [b, 1]);
  const dlogits = tf.mul(coef, tf.sub(onehot, tf.exp(logp)));
  return { loss, logProbs, dlogits };
}
