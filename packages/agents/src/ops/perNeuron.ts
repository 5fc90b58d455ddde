import { simdMatVecs, simdOuter } from "@sgprop/kernels";
import * as tf from "@tensorflow/tfjs-core";

/**
 * Per-neuron contractions: every neuron i of a layer has its own small matrix, and the batch of N
 * samples shares nothing but the sample axis. These two primitives carry all the FLOPs of the
 * SparseNet models, so they are written once here with a kernel choice per backend:
 *  - "matmul": one batched matMul over the neuron axis (fast on cpu and tensorflow);
 *  - "depthwise": a depthwise convolution whose window runs over the contracted axis and whose
 *    channels are the neurons (XNNPACK's grouped convolution on wasm);
 *  - "simd": our own WebAssembly SIMD kernels on two threads (@sgprop/kernels, perNeuron.ts), the
 *    default on wasm and cpu: 3-5 times the throughput of "depthwise" at batch 64 even with the
 *    copies in and out of the tfjs backend (bench/index.ts measures all three).
 * All are differentiable on every backend (custom gradients built from the same primitives,
 * because wasm lacks the depthwise-convolution gradient kernels).
 */
export type PerNeuronKernel = "matmul" | "depthwise" | "simd";

let forcedKernel: PerNeuronKernel | undefined;

/** Forces a kernel for all backends (tests and benchmarks); `undefined` restores the default. */
export function setPerNeuronKernel(kernel: PerNeuronKernel | undefined): void {
  forcedKernel = kernel;
}

/** The kernel used on the active backend. */
export function perNeuronKernel(): PerNeuronKernel {
  if (forcedKernel !== undefined) return forcedKernel;
  const backend = tf.getBackend();
  return backend === "wasm" || backend === "cpu" ? "simd" : "matmul";
}

function matVecRaw(u: tf.Tensor, w: tf.Tensor, transposed: boolean): tf.Tensor {
  return matVecsRaw(u, [w], transposed)[0] as tf.Tensor;
}

/**
 * Several contractions of the same input, sharing its relayout. Each w is [W, D, K], or
 * [W, K, D] when `transposed` (the simd kernel reads either layout without a tfjs transpose).
 */
function matVecsRaw(u: tf.Tensor, wsIn: readonly tf.Tensor[], transposed: boolean): tf.Tensor[] {
  const [n, nw, d] = u.shape as [number, number, number];
  const kernel = perNeuronKernel();
  if (kernel === "simd") {
    const weights = wsIn.map((w) => ({
      data: w.dataSync() as Float32Array,
      k: w.shape[transposed ? 1 : 2] as number,
      transposed,
    }));
    const out = simdMatVecs(u.dataSync() as Float32Array, n, nw, d, weights);
    return out.map((z, j) => tf.tensor3d(z, [n, nw, (weights[j] as { k: number }).k]));
  }
  const ws = transposed ? wsIn.map((w) => tf.transpose(w, [0, 2, 1])) : wsIn;
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
 * Several per-neuron contractions of one input u [N, W, D] with w_j [W, D, K_j] -> [N, W, K_j]
 * (w_j [W, K_j, D] when `transposed`), sharing the input's relayout. Not differentiable (for
 * hand-written backward passes).
 */
export function perNeuronMatVecs(u: tf.Tensor, ws: readonly tf.Tensor[], transposed = false): tf.Tensor[] {
  for (const w of ws) checkMatVec(u, w, transposed);
  return matVecsRaw(u, ws, transposed);
}

function outerRaw(a: tf.Tensor, u: tf.Tensor): tf.Tensor {
  const [n, nw, k] = a.shape as [number, number, number];
  const d = u.shape[2] as number;
  const kernel = perNeuronKernel();
  if (kernel === "simd") {
    const o = simdOuter(a.dataSync() as Float32Array, u.dataSync() as Float32Array, n, nw, k, d);
    return tf.tensor3d(o, [nw, k, d]);
  }
  if (kernel === "matmul") {
    return tf.matMul(tf.transpose(a, [1, 2, 0]), tf.transpose(u, [1, 0, 2]));
  }
  const x = tf.reshape(tf.transpose(u, [2, 0, 1]), [d, 1, n, nw]);
  const f = tf.reshape(a, [1, n, nw, k]);
  const out = tf.reshape(tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, "valid"), [d, nw, k]);
  return tf.transpose(out, [1, 2, 0]);
}

function checkMatVec(u: tf.Tensor, w: tf.Tensor, transposed: boolean): void {
  const dAxis = transposed ? 2 : 1;
  if (u.rank !== 3 || w.rank !== 3 || u.shape[1] !== w.shape[0] || u.shape[2] !== w.shape[dAxis]) {
    const expected = transposed ? "[W, K, D]" : "[W, D, K]";
    throw new RangeError(
      `perNeuronMatVec: u [N, W, D] and w ${expected} expected, got [${u.shape}] and [${w.shape}]`,
    );
  }
}

/**
 * z[n, i, k] = sum_d u[n, i, d] w[i, d, k]: u [N, W, D], w [W, D, K] -> [N, W, K] (with
 * `transposed`, w is [W, K, D] and z[n, i, k] = sum_d u[n, i, d] w[i, k, d]).
 * Differentiable with respect to both inputs on every backend.
 */
export function perNeuronMatVec(u: tf.Tensor, w: tf.Tensor, transposed = false): tf.Tensor {
  checkMatVec(u, w, transposed);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [uu, ww] = args as [tf.Tensor, tf.Tensor];
    return {
      value: matVecRaw(uu, ww, transposed),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
        const dz = dy as tf.Tensor;
        const dW = outerRaw(dz, uu); // [W, K, D]
        return [matVecRaw(dz, ww, !transposed), transposed ? dW : tf.transpose(dW, [0, 2, 1])];
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
        return [matVecRaw(uu, dO, true), matVecRaw(aa, dO, false)];
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
