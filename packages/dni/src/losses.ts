import * as tf from "@tensorflow/tfjs-core";

/**
 * The losses of the paper's experiments, each a mean over the batch of a per-example loss l_i:
 * - "mse": l = 1/2 ||yhat - y||^2 (Theorem 1's squared error);
 * - "logistic": binary log loss on one logit z, l = softplus(z) - y z, labels in {0, 1};
 * - "softmax": cross-entropy of softmax(z) against one-hot labels (MNIST).
 * Per-example gradients dl_i/dz are what a synthetic gradient predicts (see learner.ts).
 */
export type LossName = "mse" | "logistic" | "softmax";
export const LOSSES: readonly LossName[] = ["mse", "logistic", "softmax"];

export function lossValue(name: LossName, out: tf.Tensor2D, y: tf.Tensor2D): tf.Scalar {
  switch (name) {
    case "mse":
      return tf.mul(0.5, tf.mean(tf.sum(tf.square(tf.sub(out, y)), 1)));
    case "logistic":
      return tf.mean(tf.sub(tf.softplus(out), tf.mul(y, out)));
    case "softmax":
      return tf.mean(tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(out)), 1)));
  }
}

/** Fraction of examples whose predicted class (or sign of the logit) matches the label. */
export function accuracy(name: LossName, out: tf.Tensor2D, y: tf.Tensor2D): number {
  return tf.tidy(() => {
    if (name === "logistic") {
      const pred = tf.cast(tf.greater(out, 0), "float32");
      return tf.mean(tf.cast(tf.equal(pred, y), "float32")).dataSync()[0] as number;
    }
    return tf.mean(tf.cast(tf.equal(tf.argMax(out, 1), tf.argMax(y, 1)), "float32")).dataSync()[0] as number;
  });
}
