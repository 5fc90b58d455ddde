import * as tf from "@tensorflow/tfjs-core";

/**
 * Per-neuron contractions: every neuron i of a layer has its own small matrix, and the batch of N
 * samples shares nothing but the sample axis. These two primitives carry all the FLOPs of the
 * SparseNet models, so they are written once here with a kernel choice per backend:
 *  - "matmul": one batched matMul over the neuron axis (fast on cpu and tensorflow);
 *  - "depthwise": a depthwise convolution whose window runs over the contracted axis and whose
 *    channels are the neurons. On the wasm backend this reaches XNNPACK's grouped convolution,
 *    several times faster than wasm's generic batched matMul (measured in bench/index.ts).
 * Both are differentiable on every backend (custom gradients built from the same primitives,
 * because wasm lacks the depthwise-convolution gradient kernels).
 */
export type PerNeuronKernel = "matmul" | "depthwise";

let forcedKernel: PerNeuronKernel | undefined;

/** Forces a kernel for all backends (tests and benchmarks); `undefined` restores the default. */
export function setPerNeuronKernel(kernel: PerNeuronKernel | undefined): void {
  forcedKernel = kernel;
}

/** The kernel used on the active backend. */
export function perNeuronKernel(): PerNeuronKernel {
  if (forcedKernel !== undefined) return forcedKernel;
  return tf.getBackend() === "wasm" ? "depthwise" : "matmul";
}

function matVecRaw(u: tf.Tensor, w: tf.Tensor): tf.Tensor {
  return matVecsRaw(u, [w])[0] as tf.Tensor;
}

/** Several contractions of the same input, sharing its relayout. */
function matVecsRaw(u: tf.Tensor, ws: readonly tf.Tensor[]): tf.Tensor[] {
  const [n, nw, d] = u.shape as [number, number, number];
  const kernel = perNeuronKernel();
  if (kernel === "matmul") {
    const uw = tf.transpose(u, [1, 0, 2]);
    return ws.map((w) => tf.transpose(tf.matMul(uw, w), [1, 0, 2]));
  }
  const x = tf.reshape(tf.transpose(u, [0, 2, 1]), [n, 1, d, nw]) as tf.Tensor4D;
  return ws.map((w) => {
    const k = w.shape[2] as number;
    const f = tf.reshape(tf.transpose(w, [1, 0, 2]), [1, d, nw, k]) as tf.Tensor4D;
    return tf.reshape(tf.depthwiseConv2d(x, f, 1, "valid"), [n, nw, k]);
  });
}

/**
 * Several per-neuron contractions of one input u [N, W, D] with w_j [W, D, K_j] -> [N, W, K_j],
 * sharing the input's relayout. Not differentiable (for hand-written backward passes).
 */
export function perNeuronMatVecs(u: tf.Tensor, ws: readonly tf.Tensor[]): tf.Tensor[] {
  for (const w of ws) checkMatVec(u, w);
  return matVecsRaw(u, ws);
}

function outerRaw(a: tf.Tensor, u: tf.Tensor): tf.Tensor {
  const [n, nw, k] = a.shape as [number, number, number];
  const d = u.shape[2] as number;
  if (perNeuronKernel() === "matmul") {
    return tf.matMul(tf.transpose(a, [1, 2, 0]), tf.transpose(u, [1, 0, 2]));
  }
  const x = tf.reshape(tf.transpose(u, [2, 0, 1]), [d, 1, n, nw]);
  const f = tf.reshape(a, [1, n, nw, k]);
  const out = tf.reshape(tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, "valid"), [d, nw, k]);
  return tf.transpose(out, [1, 2, 0]);
}

function checkMatVec(u: tf.Tensor, w: tf.Tensor): void {
  if (u.rank !== 3 || w.rank !== 3 || u.shape[1] !== w.shape[0] || u.shape[2] !== w.shape[1]) {
    throw new RangeError(
      `perNeuronMatVec: u [N, W, D] and w [W, D, K] expected, got [${u.shape}] and [${w.shape}]`,
    );
  }
}

/**
 * z[n, i, k] = sum_d u[n, i, d] w[i, d, k]: u [N, W, D], w [W, D, K] -> [N, W, K].
 * Differentiable with respect to both inputs on every backend.
 */
export function perNeuronMatVec(u: tf.Tensor, w: tf.Tensor): tf.Tensor {
  checkMatVec(u, w);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [uu, ww] = args as [tf.Tensor, tf.Tensor];
    return {
      value: matVecRaw(uu, ww),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
        const dz = dy as tf.Tensor;
        return [matVecRaw(dz, tf.transpose(ww, [0, 2, 1])), tf.transpose(outerRaw(dz, uu), [0, 2, 1])];
      },
    };
  });
  return op(u, w);
}

/**
 * o[i, k, d] = sum_n a[n, i, k] u[n, i, d]: a [N, W, K], u [N, W, D] -> [W, K, D] (the per-neuron
 * sum of outer products, i.e. a weight gradient). Differentiable with respect to both inputs.
 */
export function perNeuronOuter(a: tf.Tensor, u: tf.Tensor): tf.Tensor {
  if (a.rank !== 3 || u.rank !== 3 || a.shape[0] !== u.shape[0] || a.shape[1] !== u.shape[1]) {
    throw new RangeError(
      `perNeuronOuter: a [N, W, K] and u [N, W, D] expected, got [${a.shape}] and [${u.shape}]`,
    );
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [aa, uu] = args as [tf.Tensor, tf.Tensor];
    return {
      value: outerRaw(aa, uu),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
        const dO = dy as tf.Tensor; // [W, K, D]
        return [matVecRaw(uu, tf.transpose(dO, [0, 2, 1])), matVecRaw(aa, dO)];
      },
    };
  });
  return op(a, u);
}

/**
 * tanh on the active backend. wasm evaluates Tanh with scalar code (about 25 ns per value here)
 * but Sigmoid through XNNPACK's vectorised kernel, so there we use tanh(x) = 2 sigmoid(2x) - 1
 * (absolute error below 1e-7, five times faster). Not differentiable through tfjs autodiff on
 * purpose: the feed-forward models differentiate by hand.
 */
export function fastTanh(x: tf.Tensor): tf.Tensor {
  if (tf.getBackend() !== "wasm") return tf.tanh(x);
  return tf.tidy(() => tf.sub(tf.mul(tf.sigmoid(tf.mul(x, 2)), 2), 1));
}
