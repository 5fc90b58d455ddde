import type { Rng } from "@sgprop/gym";
import { simdDenseMatVec, simdDenseOuter, simdDenseTanh } from "@sgprop/kernels";
import * as tf from "@tensorflow/tfjs-core";
import { hostData, mirroredTensor } from "../kernels/hostMirror.js";
import { fastTanh, perNeuronKernel } from "../ops/perNeuron.js";
import { InvalidConfigError, InvalidInputError, requireInt } from "./errors.js";

/** Sizes of the dense MLP baseline of the bandit (SPEC 4.6). */
export interface MlpConfig {
  readonly inputDim: number;
  /** Units per hidden layer (745 in the paper, matching the SparseNet's parameter count). */
  readonly hiddenWidth: number;
  readonly numLayers: number;
  readonly numActions: number;
  /** h_l = tanh(W h_{l-1} + b) + h_{l-1} for l > 0; off in the paper's sweeps. */
  readonly residual: boolean;
}

export function checkMlpConfig(c: MlpConfig): MlpConfig {
  requireInt("inputDim", c.inputDim, 1);
  requireInt("hiddenWidth", c.hiddenWidth, 1);
  requireInt("numLayers", c.numLayers, 1);
  requireInt("numActions", c.numActions, 2);
  return c;
}

/** Canonical parameter names and shapes ([out, in] weights, PyTorch convention). */
export function mlpShapes(c: MlpConfig): Record<string, number[]> {
  const shapes: Record<string, number[]> = {};
  for (let l = 0; l < c.numLayers; l++) {
    shapes[`hidden.${l}.weight`] = [c.hiddenWidth, l === 0 ? c.inputDim : c.hiddenWidth];
    shapes[`hidden.${l}.bias`] = [c.hiddenWidth];
  }
  shapes["action.weight"] = [c.numActions, c.hiddenWidth];
  shapes["action.bias"] = [c.numActions];
  return shapes;
}

/** Xavier-normal weights (std sqrt(2 / (in + out))) and zero biases, as the reference. */
export function initMlpParams(c: MlpConfig, rng: Rng): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [name, shape] of Object.entries(mlpShapes(c))) {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (name.endsWith("weight")) {
      const std = Math.sqrt(2 / ((shape[0] as number) + (shape[1] as number)));
      for (let i = 0; i < size; i++) data[i] = rng.normal() * std;
    }
    out[name] = tf.tensor(data, shape);
  }
  return out;
}

/** Forward values kept for the backward pass. */
export interface MlpForward {
  /** h_{-1} = x, then every hidden output [B, H]. */
  readonly inputs: readonly tf.Tensor[];
  readonly hidden: readonly tf.Tensor[];
  /** tanh(W h + b) of each layer (differs from hidden for residual layers). */
  readonly act: readonly tf.Tensor[];
  readonly logits: tf.Tensor;
}

let counter = 0;

/**
 * The dense baseline: L tanh layers, then a linear action layer. The backward pass is written
 * out (two matMuls per layer, both in the untransposed layout that wasm's XNNPACK path handles
 * fastest).
 */
export class Mlp {
  readonly config: MlpConfig;
  readonly vars: Readonly<Record<string, tf.Variable>>;

  constructor(config: MlpConfig, params: Readonly<Record<string, tf.Tensor>>) {
    this.config = checkMlpConfig(config);
    const vars: Record<string, tf.Variable> = {};
    for (const [name, shape] of Object.entries(mlpShapes(config))) {
      const t = params[name];
      if (t === undefined) throw new InvalidConfigError(`parameter ${name}`, "missing", `shape [${shape}]`);
      if (t.shape.join() !== shape.join())
        throw new InvalidConfigError(`shape of ${name}`, t.shape, `[${shape}]`);
      vars[name] = tf.tidy(() =>
        tf.variable(t.dtype === "float32" ? t : tf.cast(t, "float32"), true, `mlp_${name}_${counter++}`),
      );
    }
    this.vars = vars;
  }

  static create(config: MlpConfig, rng: Rng): Mlp {
    const params = initMlpParams(checkMlpConfig(config), rng);
    const net = new Mlp(config, params);
    tf.dispose(Object.values(params));
    return net;
  }

  private v(name: string): tf.Variable {
    const t = this.vars[name];
    if (t === undefined) throw new Error(`no parameter ${name}`);
    return t;
  }

  checkInput(x: tf.Tensor): void {
    if (x.rank !== 2 || x.shape[1] !== this.config.inputDim) {
      throw new InvalidInputError(`MLP input must be [B, ${this.config.inputDim}], got [${x.shape}]`);
    }
    const finite = tf.tidy(() => tf.all(tf.isFinite(x)).dataSync()[0]);
    if (finite !== 1) throw new InvalidInputError("MLP input contains NaN or Inf");
  }

  forward(x: tf.Tensor): MlpForward {
    if (perNeuronKernel() === "simd") return this.forwardSimd(x);
    const inputs: tf.Tensor[] = [];
    const hidden: tf.Tensor[] = [];
    const act: tf.Tensor[] = [];
    let h = x;
    for (let l = 0; l < this.config.numLayers; l++) {
      inputs.push(h);
      const wt = tf.transpose(this.v(`hidden.${l}.weight`));
      const a = fastTanh(tf.add(tf.matMul(h, wt), this.v(`hidden.${l}.bias`)));
      act.push(a);
      h = this.config.residual && l > 0 ? tf.add(a, h) : a;
      hidden.push(h);
    }
    const logits = tf.add(tf.matMul(h, tf.transpose(this.v("action.weight"))), this.v("action.bias"));
    return { inputs, hidden, act, logits };
  }

  /** {@link forward} with the hidden layers on the SIMD kernels over two threads. */
  private forwardSimd(x: tf.Tensor): MlpForward {
    const { numLayers: L, hiddenWidth: width, inputDim, residual } = this.config;
    const n = x.shape[0] as number;
    const inputs: tf.Tensor[] = [];
    const hidden: tf.Tensor[] = [];
    const act: tf.Tensor[] = [];
    let h = x;
    let hd = hostData(x);
    for (let l = 0; l < L; l++) {
      inputs.push(h);
      const w = hostData(this.v(`hidden.${l}.weight`));
      const b = hostData(this.v(`hidden.${l}.bias`));
      const ad = simdDenseTanh(hd, w, b, n, l === 0 ? inputDim : width, width);
      const a = mirroredTensor(ad, [n, width]);
      act.push(a);
      if (residual && l > 0) {
        const sum = new Float32Array(ad.length);
        for (let e = 0; e < sum.length; e++) sum[e] = (ad[e] as number) + (hd[e] as number);
        h = mirroredTensor(sum, [n, width]);
        hd = sum;
      } else {
        h = a;
        hd = ad;
      }
      hidden.push(h);
    }
    const logits = tf.add(tf.matMul(h, tf.transpose(this.v("action.weight"))), this.v("action.bias"));
    return { inputs, hidden, act, logits };
  }

  /** Action probabilities for contexts x [B, X]. */
  probabilities(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.softmax(this.forward(x).logits, -1));
  }

  /** Gradients of a loss with gradient dlogits [B, A] with respect to every parameter. */
  backward(fwd: MlpForward, dlogits: tf.Tensor): Record<string, tf.Tensor> {
    if (perNeuronKernel() === "simd") return this.backwardSimd(fwd, dlogits);
    const grads: Record<string, tf.Tensor> = {};
    const L = this.config.numLayers;
    const hLast = fwd.hidden[L - 1] as tf.Tensor;
    grads["action.weight"] = tf.matMul(tf.transpose(dlogits), hLast);
    grads["action.bias"] = tf.sum(dlogits, 0);
    let g = tf.matMul(dlogits, this.v("action.weight"));
    for (let l = L - 1; l >= 0; l--) {
      const a = fwd.act[l] as tf.Tensor;
      const dz = tf.mul(g, tf.sub(1, tf.square(a)));
      grads[`hidden.${l}.weight`] = tf.matMul(tf.transpose(dz), fwd.inputs[l] as tf.Tensor);
      grads[`hidden.${l}.bias`] = tf.sum(dz, 0);
      if (l > 0) {
        const back = tf.matMul(dz, this.v(`hidden.${l}.weight`));
        g = this.config.residual ? tf.add(back, g) : back;
      }
    }
    return grads;
  }

  /**
   * {@link backward} with the hidden layers' two large products (weight gradients dz^T h and
   * input gradients dz W) on the SIMD kernels over two threads; same mathematics, float32, the
   * sums over the batch and over the units in order.
   */
  private backwardSimd(fwd: MlpForward, dlogits: tf.Tensor): Record<string, tf.Tensor> {
    const grads: Record<string, tf.Tensor> = {};
    const { numLayers: L, hiddenWidth: h, inputDim } = this.config;
    const n = dlogits.shape[0] as number;
    const hLast = fwd.hidden[L - 1] as tf.Tensor;
    grads["action.weight"] = tf.matMul(tf.transpose(dlogits), hLast);
    grads["action.bias"] = tf.sum(dlogits, 0);
    let g = tf.matMul(dlogits, this.v("action.weight")).dataSync() as Float32Array;
    for (let l = L - 1; l >= 0; l--) {
      const a = hostData(fwd.act[l] as tf.Tensor);
      const dz = new Float32Array(n * h);
      for (let e = 0; e < dz.length; e++) dz[e] = (g[e] as number) * (1 - (a[e] as number) ** 2);
      const width = l === 0 ? inputDim : h;
      const dW = simdDenseOuter(dz, hostData(fwd.inputs[l] as tf.Tensor), n, h, width);
      grads[`hidden.${l}.weight`] = mirroredTensor(dW, [h, width]);
      const db = new Float32Array(h);
      for (let r = 0; r < n; r++) {
        for (let j = 0; j < h; j++) db[j] = (db[j] as number) + (dz[r * h + j] as number);
      }
      grads[`hidden.${l}.bias`] = mirroredTensor(db, [h]);
      if (l > 0) {
        const back = simdDenseMatVec(dz, hostData(this.v(`hidden.${l}.weight`)), n, h, h);
        if (this.config.residual) {
          for (let e = 0; e < back.length; e++) back[e] = (back[e] as number) + (g[e] as number);
        }
        g = back;
      }
    }
    return grads;
  }

  dispose(): void {
    tf.dispose(Object.values(this.vars));
  }
}
