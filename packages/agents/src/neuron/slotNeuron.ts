import * as tf from "@tensorflow/tfjs-core";

/**
 * Parameters of a layer of W slot neurons (SPEC 4.1), neuron-major:
 * keys [W, M, D], A [W, M, q, D], b [W, M, q].
 */
export interface SlotLayerParams {
  readonly keys: tf.Tensor;
  readonly A: tf.Tensor;
  readonly b: tf.Tensor;
}

/** Forward values of a slot layer in sample-major layout. */
export interface SlotLayerOutput {
  /** out_i = sum_s alpha_s y_s, [N, W, q]. */
  readonly out: tf.Tensor;
  /** Routing weights softmax_s(<u, k_s> / sqrt(D)), [N, W, M]. */
  readonly alpha: tf.Tensor;
  /** Slot outputs tanh(A_s u + b_s), [N, W, M, q]. */
  readonly y: tf.Tensor;
}

/** Checks the shapes of a layer's parameters and returns [W, M, q, D]. */
export function slotLayerDims(p: SlotLayerParams): [number, number, number, number] {
  const [w, m, q, d] = p.A.shape as number[];
  if (p.A.rank !== 4 || w === undefined || m === undefined || q === undefined || d === undefined) {
    throw new RangeError(`slot layer A must be [W, M, q, D], got [${p.A.shape}]`);
  }
  if (p.keys.rank !== 3 || p.keys.shape[0] !== w || p.keys.shape[1] !== m || p.keys.shape[2] !== d) {
    throw new RangeError(`slot layer keys must be [${w}, ${m}, ${d}], got [${p.keys.shape}]`);
  }
  if (p.b.rank !== 3 || p.b.shape[0] !== w || p.b.shape[1] !== m || p.b.shape[2] !== q) {
    throw new RangeError(`slot layer b must be [${w}, ${m}, ${q}], got [${p.b.shape}]`);
  }
  return [w, m, q, d];
}

/**
 * The slot neuron of SPEC 4.1 for all W neurons of a layer at once, in neuron-major layout:
 * uW [W, N, D] -> out [W, N, q], alpha [W, N, M], y [W, N, M, q]. One batched matmul over the
 * neurons computes both the routing logits and the slot pre-activations
 * ([keys; A] stacked as [W, M + M q, D]). Differentiable by tfjs autodiff on every backend.
 */
export function slotLayerForwardWN(
  uW: tf.Tensor,
  p: SlotLayerParams,
): { out: tf.Tensor; alpha: tf.Tensor; y: tf.Tensor } {
  const [w, m, q, d] = slotLayerDims(p);
  if (uW.rank !== 3 || uW.shape[0] !== w || uW.shape[2] !== d) {
    throw new RangeError(`slot layer input must be [${w}, N, ${d}], got [${uW.shape}]`);
  }
  const n = uW.shape[1] as number;
  const wcat = tf.concat([p.keys, tf.reshape(p.A, [w, m * q, d])], 1);
  const z = tf.matMul(uW, wcat, false, true); // [W, N, M + Mq]
  const logits = tf.div(tf.slice(z, [0, 0, 0], [w, n, m]), Math.sqrt(d));
  const alpha = tf.softmax(logits, -1);
  const pre = tf.add(tf.slice(z, [0, 0, m], [w, n, m * q]), tf.reshape(p.b, [w, 1, m * q]));
  const y = tf.reshape(tf.tanh(pre), [w, n, m, q]);
  const out = tf.sum(tf.mul(tf.expandDims(alpha, 3), y), 2);
  return { out, alpha, y };
}

/**
 * The slot neuron of SPEC 4.1 for all neurons of a layer at once, sample-major:
 * u [N, W, D] -> out [N, W, q] (plus alpha [N, W, M] and y [N, W, M, q]).
 * Gradients flow to u, keys, A and b through ordinary tfjs ops (they work on wasm and cpu).
 */
export function slotLayerForward(u: tf.Tensor, p: SlotLayerParams): SlotLayerOutput {
  return tf.tidy(() => {
    const r = slotLayerForwardWN(tf.transpose(u, [1, 0, 2]), p);
    return {
      out: tf.transpose(r.out, [1, 0, 2]),
      alpha: tf.transpose(r.alpha, [1, 0, 2]),
      y: tf.transpose(r.y, [1, 0, 2, 3]),
    };
  });
}

/**
 * The synthetic-gradient predictor of a layer (SPEC 4.1): hhat_i(u) = sum_s alpha_s (Atilde_s u +
 * btilde_s), sample-major: u [N, W, D], alpha [N, W, M], sgA [W, M, q, D], sgB [W, M, q] -> [N, W, q].
 * The paper treats u and alpha as constants here: pass detached values (e.g. through
 * `stopGradient`) when differentiating, so that only sgA and sgB receive gradient.
 */
export function slotPredictor(u: tf.Tensor, alpha: tf.Tensor, sgA: tf.Tensor, sgB: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const r = slotPredictorWN(tf.transpose(u, [1, 0, 2]), tf.transpose(alpha, [1, 0, 2]), sgA, sgB);
    return tf.transpose(r, [1, 0, 2]);
  });
}

/** {@link slotPredictor} in neuron-major layout: uW [W, N, D], alphaW [W, N, M] -> [W, N, q]. */
export function slotPredictorWN(uW: tf.Tensor, alphaW: tf.Tensor, sgA: tf.Tensor, sgB: tf.Tensor): tf.Tensor {
  const [w, m, q, d] = sgA.shape as [number, number, number, number];
  const n = uW.shape[1] as number;
  const lin = tf.add(
    tf.matMul(uW, tf.reshape(sgA, [w, m * q, d]), false, true),
    tf.reshape(sgB, [w, 1, m * q]),
  ); // [W, N, Mq]
  return tf.sum(tf.mul(tf.expandDims(alphaW, 3), tf.reshape(lin, [w, n, m, q])), 2);
}
