import * as tf from "@tensorflow/tfjs-core";

/**
 * How the synthetic substitute s is formed from the prediction hhat (SPEC 4.4):
 * "prediction" uses s = hhat; "positive_projection" uses the projection of the true gradient g onto
 * hhat, kept only when it points the same way: s = max(<g, hhat>, 0) hhat / max(||hhat||^2, 1e-12).
 */
export type SgMode = "prediction" | "positive_projection";

/** The modes accepted by {@link mixGradient}, for option validation and CLI help. */
export const SG_MODES: readonly SgMode[] = ["prediction", "positive_projection"];

/**
 * The substitute s of Definition 1 for gradients g and predictions hhat of the same shape
 * [..., q]; inner products and norms run over the last axis (one neuron's q values).
 */
export function sgSubstitute(g: tf.Tensor, hhat: tf.Tensor, mode: SgMode): tf.Tensor {
  if (mode === "prediction") return tf.clone(hhat);
  if (mode !== "positive_projection") throw new RangeError(`unknown SG mode "${String(mode)}"`);
  return tf.tidy(() => {
    const dot = tf.relu(tf.sum(tf.mul(g, hhat), -1, true));
    const sq = tf.maximum(tf.sum(tf.square(hhat), -1, true), 1e-12);
    return tf.mul(tf.div(dot, sq), hhat);
  });
}

/**
 * Definition 1 of the paper: the gradient that continues backwards from a hidden state,
 *   gtilde = theta * g + (1 - theta) * s,
 * with one theta per neuron. `g` and `hhat` have shape [..., W, q]; `theta` has shape [W] (or any
 * shape that broadcasts against [..., W, 1] once a trailing axis is added). theta = 1 gives g
 * exactly (1*g + 0*s is g bit for bit when s is finite).
 */
export function mixGradient(g: tf.Tensor, hhat: tf.Tensor, theta: tf.Tensor, mode: SgMode): tf.Tensor {
  return tf.tidy(() => {
    const s = sgSubstitute(g, hhat, mode);
    return mixWithSubstitute(g, s, theta);
  });
}

/** theta * g + (1 - theta) * s for an already formed substitute s (see {@link mixGradient}). */
export function mixWithSubstitute(g: tf.Tensor, s: tf.Tensor, theta: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const th = tf.expandDims(theta, -1);
    return tf.add(tf.mul(th, g), tf.mul(tf.sub(1, th), s));
  });
}
