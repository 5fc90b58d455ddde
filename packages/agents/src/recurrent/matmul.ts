import * as tf from "@tensorflow/tfjs-core";

/**
 * a b for 2-D tensors, differentiable, using only untransposed matmuls (with explicit transposes)
 * forwards and backwards. Why: tfjs-backend-wasm 4.22 runs matMul with transposeA/transposeB
 * through a slow path, ~20x slower than an explicit transpose plus a plain matmul at the sizes of
 * these policies (e.g. [20,256] x [256,768]: 14 ms vs 0.6 ms here), and tfjs's own matMul gradient
 * uses the transposed forms.
 */
export const fastMatMul = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy as tf.Tensor2D)];
    },
  };
}) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor2D;
