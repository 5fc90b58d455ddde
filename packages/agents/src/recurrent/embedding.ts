import * as tf from "@tensorflow/tfjs-core";
import { fastMatMul } from "./matmul.js";

/** LayerNorm epsilon and LeakyReLU slope of the POPGym policies (golden README section 2). */
export const LAYER_NORM_EPS = 1e-5;
export const LEAKY_RELU_SLOPE = 0.01;

/** y = x W^T + b with W [out, in] (PyTorch Linear). */
export function linear(x: tf.Tensor2D, weight: tf.Tensor, bias: tf.Tensor): tf.Tensor2D {
  return tf.add(fastMatMul(x, tf.transpose(weight)), bias) as tf.Tensor2D;
}

/** LayerNorm over the last axis, no affine parameters, population variance. */
export function layerNorm(x: tf.Tensor2D): tf.Tensor2D {
  const mean = tf.mean(x, -1, true);
  const centred = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centred), -1, true);
  return tf.div(centred, tf.sqrt(tf.add(variance, LAYER_NORM_EPS))) as tf.Tensor2D;
}

/**
 * The observation embedding shared by every POPGym policy:
 * LeakyReLU(preprocessor(LayerNorm(featureMap(obs)))), for obs [N, O].
 */
export function embedObservations(
  obs: tf.Tensor2D,
  featureMapWeight: tf.Tensor,
  featureMapBias: tf.Tensor,
  preprocessorWeight: tf.Tensor,
  preprocessorBias: tf.Tensor,
): tf.Tensor2D {
  const h = layerNorm(linear(obs, featureMapWeight, featureMapBias));
  return tf.leakyRelu(linear(h, preprocessorWeight, preprocessorBias), LEAKY_RELU_SLOPE);
}

export const EMBEDDING_PARAMS = [
  "featureMap.weight",
  "featureMap.bias",
  "preprocessor.weight",
  "preprocessor.bias",
] as const;
