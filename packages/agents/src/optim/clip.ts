import * as tf from "@tensorflow/tfjs-core";

/** Result of {@link clipByGlobalNorm}: the scaled gradients (new tensors) and the norm before clipping. */
export interface ClippedGradients<K extends string> {
  readonly grads: Record<K, tf.Tensor>;
  readonly norm: number;
}

/**
 * Global-norm clipping as PyTorch's clip_grad_norm_: n = sqrt(sum over all listed tensors of
 * sum g^2), every gradient multiplied by min(1, maxNorm / (n + 1e-6)). Note the 1e-6 added to the
 * norm (golden README section 2). Returns new tensors (the caller disposes both sets) and n.
 */
export function clipByGlobalNorm<K extends string>(
  grads: Readonly<Record<K, tf.Tensor>>,
  maxNorm: number,
): ClippedGradients<K> {
  if (!(maxNorm > 0)) throw new RangeError(`maxNorm must be positive, got ${maxNorm}`);
  const names = Object.keys(grads) as K[];
  const normT = globalNorm(names.map((k) => grads[k]));
  const norm = normT.dataSync()[0] as number;
  normT.dispose();
  const coef = Math.min(1, maxNorm / (norm + 1e-6));
  const out = {} as Record<K, tf.Tensor>;
  for (const k of names) out[k] = tf.tidy(() => (coef < 1 ? tf.mul(grads[k], coef) : tf.clone(grads[k])));
  return { grads: out, norm };
}

/** sqrt of the sum of squares of every entry of every tensor, as a scalar tensor. */
export function globalNorm(tensors: readonly tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => {
    if (tensors.length === 0) return tf.scalar(0);
    const sums = tensors.map((t) => tf.sum(tf.square(t)));
    return tf.sqrt(tf.addN(sums)) as tf.Scalar;
  });
}
