import type { Rng } from "@sgprop/gym";
import { simdForwardHidden } from "@sgprop/kernels";
import * as tf from "@tensorflow/tfjs-core";
import { hostData } from "../kernels/hostMirror.js";
import {
  fastTanh,
  perNeuronKernel,
  perNeuronMatVec,
  perNeuronMatVecs,
  perNeuronOuter,
} from "../ops/perNeuron.js";
import { InvalidConfigError, InvalidInputError } from "./errors.js";
import { HostGather } from "./hostGather.js";
import {
  checkFeedforwardConfig,
  checkFeedforwardConnectivity,
  drawFeedforwardConnectivity,
  type FeedforwardConnectivity,
  type FeedforwardSparseNetConfig,
  feedforwardPolicyNames,
  feedforwardSgNames,
  feedforwardShapes,
  initFeedforwardParams,
  pickParams,
} from "./sparsenetConfig.js";
import { logitsNeuronMajor, neuronMajorWeights, simdHiddenWeights } from "./sparsenetEval.js";
import { type HostParams, NativeFeedforward } from "./sparsenetKernels.js";
import {
  type FeedforwardForward,
  type FeedforwardLayerCache,
  liveTrace,
  NativeLayerCache,
  type NativeTraceRef,
} from "./sparsenetTrace.js";

/** Parameter gradients of one layer from {@link FeedforwardSparseNet.backwardLayer}. */
export interface FeedforwardLayerGrads {
  readonly keys: tf.Tensor;
  readonly A: tf.Tensor;
  readonly b: tf.Tensor;
}

/**
 * The feed-forward FeedforwardSparseNet policy and its SG predictors (SPEC 4.2). Parameters are tf.Variables
 * by canonical name; the connectivity is fixed. Forward and backward passes are written out per
 * layer (the backward pass is manual so that sgprop can replace the gradient at every hidden
 * output, and so that all FLOPs go through the per-neuron kernels of ops/perNeuron.ts).
 */
export class FeedforwardSparseNet {
  readonly config: FeedforwardSparseNetConfig;
  readonly nd: number;
  readonly connectivity: FeedforwardConnectivity;
  /** Every parameter (policy and SG) by canonical name. */
  readonly vars: Readonly<Record<string, tf.Variable>>;
  private readonly firstGather: HostGather;
  private readonly parentGathers: HostGather[];
  private native: NativeFeedforward | undefined;

  constructor(
    config: FeedforwardSparseNetConfig,
    connectivity: FeedforwardConnectivity,
    params: Readonly<Record<string, tf.Tensor>>,
  ) {
    this.config = checkFeedforwardConfig(config);
    checkFeedforwardConnectivity(config, connectivity);
    this.nd = config.numParents * config.neuronDim;
    this.connectivity = connectivity;
    const vars: Record<string, tf.Variable> = {};
    for (const [name, shape] of Object.entries(feedforwardShapes(config))) {
      const t = params[name];
      if (t === undefined) throw new InvalidConfigError(`parameter ${name}`, "missing", `shape [${shape}]`);
      if (t.shape.join() !== shape.join())
        throw new InvalidConfigError(`shape of ${name}`, t.shape, `[${shape}]`);
      vars[name] = tf.tidy(() =>
        tf.variable(t.dtype === "float32" ? t : tf.cast(t, "float32"), true, `${name}_${variableCounter++}`),
      );
    }
    this.vars = vars;
    this.firstGather = new HostGather(connectivity.firstLayerInputIdx, config.inputDim, 1);
    this.parentGathers = [];
    const wp = config.width * config.numParents;
    for (let l = 1; l < config.numLayers; l++) {
      this.parentGathers.push(
        new HostGather(connectivity.parentIdx.subarray((l - 1) * wp, l * wp), config.width, config.neuronDim),
      );
    }
  }

  /** A freshly initialised network (connectivity first, then parameters, from `rng`). */
  static create(config: FeedforwardSparseNetConfig, rng: Rng): FeedforwardSparseNet {
    checkFeedforwardConfig(config);
    const conn = drawFeedforwardConnectivity(config, rng);
    const params = initFeedforwardParams(config, rng);
    const net = new FeedforwardSparseNet(config, conn, params);
    tf.dispose(Object.values(params));
    return net;
  }

  /** Policy parameters by canonical name. */
  policyVars(): Record<string, tf.Variable> {
    return pickParams(this.vars, feedforwardPolicyNames(this.config.numLayers));
  }

  /** SG-predictor parameters by canonical name. */
  sgVars(): Record<string, tf.Variable> {
    return pickParams(this.vars, feedforwardSgNames(this.config.numLayers));
  }

  private v(name: string): tf.Variable {
    const t = this.vars[name];
    if (t === undefined) throw new Error(`no parameter ${name}`);
    return t;
  }

  /** Checks a context batch [B, X]: shape and finiteness. */
  checkInput(x: tf.Tensor): void {
    if (x.rank !== 2 || x.shape[1] !== this.config.inputDim) {
      throw new InvalidInputError(
        `FeedforwardSparseNet input must be [B, ${this.config.inputDim}], got [${x.shape}]`,
      );
    }
    const finite = tf.tidy(() => tf.all(tf.isFinite(x)).dataSync()[0]);
    if (finite !== 1) throw new InvalidInputError("FeedforwardSparseNet input contains NaN or Inf");
  }

  /** Neuron inputs of layer l from the contexts (l = 0) or the previous hidden state. */
  layerInput(l: number, x: tf.Tensor, hPrev: tf.Tensor | undefined): tf.Tensor {
    const b = x.shape[0] as number;
    const { width: w } = this.config;
    if (l === 0)
      return tf.tensor3d(this.firstGather.gather(x.dataSync() as Float32Array, b), [b, w, this.nd]);
    const g = this.parentGathers[l - 1] as HostGather;
    return tf.tensor3d(g.gather((hPrev as tf.Tensor).dataSync() as Float32Array, b), [b, w, this.nd]);
  }

  /**
   * Forward pass on contexts x [B, X]. With `withSg`, the SG predictions hhat_l(u_l) (using the
   * same routing weights) come out of the same per-neuron contraction.
   */
  forward(x: tf.Tensor, withSg: boolean): FeedforwardForward {
    if (perNeuronKernel() === "simd") return this.nativeForward(x, withSg);
    const { numLayers: L, width: w, numSlots: m, neuronDim: q, residual } = this.config;
    const b = x.shape[0] as number;
    const layers: FeedforwardLayerCache[] = [];
    let hPrev: tf.Tensor | undefined;
    for (let l = 0; l < L; l++) {
      const u = this.layerInput(l, x, hPrev);
      const wa = tf.reshape(this.v(`hiddenA.${l}`), [w, m * q, this.nd]);
      const ws = withSg ? tf.reshape(this.v(`sg.hiddenA.${l}`), [w, m * q, this.nd]) : undefined;
      const mats = [this.v(`hiddenKeys.${l}`), wa, ...(ws ? [ws] : [])];
      const [zk, za, zs] = perNeuronMatVecs(u, mats, true) as [tf.Tensor, tf.Tensor, tf.Tensor | undefined];
      const alpha = tf.softmax(tf.div(zk, Math.sqrt(this.nd)), -1);
      const pre = tf.add(za, tf.reshape(this.v(`hiddenB.${l}`), [1, w, m * q]));
      const y = tf.reshape(fastTanh(pre), [b, w, m, q]);
      const a4 = tf.expandDims(alpha, 3);
      const out = tf.sum(tf.mul(a4, y), 2);
      let sgPred: tf.Tensor | undefined;
      let sgLin: tf.Tensor | undefined;
      if (zs !== undefined) {
        sgLin = tf.reshape(tf.add(zs, tf.reshape(this.v(`sg.hiddenB.${l}`), [1, w, m * q])), [b, w, m, q]);
        sgPred = tf.sum(tf.mul(a4, sgLin), 2);
      }
      let h = out;
      let tanhOut: tf.Tensor | undefined;
      if (residual && l > 0) {
        tanhOut = fastTanh(out);
        h = tf.add(tanhOut, hPrev as tf.Tensor);
      }
      layers.push({
        u,
        alpha,
        y,
        h,
        ...(tanhOut ? { tanhOut } : {}),
        ...(sgPred && sgLin ? { sgPred, sgLin } : {}),
      });
      hPrev = h;
    }
    const logits = this.actionLogits(hPrev as tf.Tensor);
    return { layers, logits };
  }

  /** Parameters as host arrays, read on demand (for the SIMD kernels). */
  private hostParams(): HostParams {
    return (name) => hostData(this.v(name));
  }

  /** {@link forward} on the SIMD kernels: the trace stays in kernel memory. */
  private nativeForward(x: tf.Tensor, withSg: boolean): FeedforwardForward {
    this.native ??= new NativeFeedforward(
      this.config,
      this.connectivity.firstLayerInputIdx,
      this.connectivity.parentIdx,
    );
    const engine = this.native;
    const b = x.shape[0] as number;
    engine.forward(x.dataSync() as Float32Array, b, this.hostParams(), withSg);
    const { width: w, neuronDim: q } = this.config;
    const hs = Array.from({ length: this.config.numLayers }, (_, l) =>
      tf.tensor3d(engine.read(l, "h"), [b, w, q]),
    );
    return this.nativeResult(engine, hs, withSg);
  }

  private nativeResult(
    engine: NativeFeedforward,
    hs: tf.Tensor[],
    withSg: boolean,
    logits?: tf.Tensor,
  ): FeedforwardForward {
    const ref: NativeTraceRef = { engine, generation: engine.generation, withSg };
    const layers = hs.map((h, l) => new NativeLayerCache(ref, l, h, this.config.residual && l > 0));
    return { layers, logits: logits ?? this.actionLogits(hs[hs.length - 1] as tf.Tensor), native: ref };
  }

  /**
   * The same forward pass with SG predictions from the current SG parameters (after an SG
   * update; the policy part of the pass is unchanged).
   */
  withFreshSgPredictions(fwd: FeedforwardForward): FeedforwardForward {
    if (fwd.native !== undefined) {
      liveTrace(fwd.native).refreshSg(this.hostParams());
      return this.nativeResult(
        fwd.native.engine,
        fwd.layers.map((c) => c.h),
        true,
        fwd.logits,
      );
    }
    return {
      logits: fwd.logits,
      layers: fwd.layers.map((c, l) => ({ ...c, ...this.sgPrediction(l, c) })),
    };
  }

  /** logits = flat(h_{L-1}) actionKeys^T / sqrt(W q); h [B, W, q] -> [B, A]. */
  actionLogits(h: tf.Tensor): tf.Tensor {
    const { width: w, neuronDim: q } = this.config;
    const f = tf.reshape(h, [h.shape[0] as number, w * q]);
    return tf.div(tf.matMul(f, this.v("actionKeys"), false, true), Math.sqrt(w * q));
  }

  /**
   * Action probabilities for contexts x [B, X] (forward only). On the wasm and cpu backends the
   * hidden layers run in one fused SIMD kernel over two threads (@sgprop/kernels perNeuron.ts: gather,
   * contraction, routing softmax, tanh and slot mixture stay in cache, about 20 GFLOP/s here);
   * elsewhere, or with the "matmul"/"depthwise" kernels forced, through tfjs in chunks of `chunk`
   * contexts. Same mathematics as {@link forward}; float rounding may differ in the last bits.
   */
  probabilities(x: tf.Tensor, chunk = 1000): tf.Tensor {
    const b = x.shape[0] as number;
    const xd = x.dataSync() as Float32Array;
    if (perNeuronKernel() === "simd") {
      const h = simdForwardHidden(simdHiddenWeights(this), xd, b);
      const { width: w, neuronDim: q } = this.config;
      return tf.tidy(() => tf.softmax(this.actionLogits(tf.tensor2d(h, [b, w * q])), -1));
    }
    const dim = this.config.inputDim;
    return tf.tidy(() => {
      const weights = neuronMajorWeights(this);
      const parts: tf.Tensor[] = [];
      for (let s = 0; s < b; s += chunk) {
        const n = Math.min(chunk, b - s);
        parts.push(
          tf.tidy(() =>
            tf.softmax(logitsNeuronMajor(this, xd.subarray(s * dim, (s + n) * dim), n, weights), -1),
          ),
        );
      }
      return parts.length === 1 ? (parts[0] as tf.Tensor) : tf.concat(parts, 0);
    });
  }

  /**
   * Gradient of the logits' loss with respect to h_{L-1} and actionKeys: dlogits [B, A] ->
   * { dh [B, W, q], dActionKeys [A, W q] }.
   */
  backwardAction(
    h: tf.Tensor,
    dlogits: tf.Tensor,
    needKeys: boolean,
  ): { dh: tf.Tensor; dActionKeys?: tf.Tensor } {
    const { width: w, neuronDim: q } = this.config;
    const b = h.shape[0] as number;
    const scale = 1 / Math.sqrt(w * q);
    const dh = tf.reshape(tf.mul(tf.matMul(dlogits, this.v("actionKeys")), scale), [b, w, q]);
    if (!needKeys) return { dh };
    const f = tf.reshape(h, [b, w * q]);
    return { dh, dActionKeys: tf.mul(tf.matMul(tf.transpose(dlogits), f), scale) };
  }

  /**
   * Backward pass through layer l for the gradient `gMixed` [B, W, q] that continues from h_l:
   * returns the parameter gradients (when asked) and the gradient arriving at h_{l-1} (through the
   * parent gathers and, for residual layers, the skip connection); none for layer 0.
   */
  backwardLayer(
    l: number,
    cache: FeedforwardLayerCache,
    gMixed: tf.Tensor,
    needParams: boolean,
  ): { grads?: FeedforwardLayerGrads; dhPrev?: tf.Tensor } {
    const { width: w, numSlots: m, neuronDim: q } = this.config;
    const b = gMixed.shape[0] as number;
    const dout = cache.tanhOut ? tf.mul(gMixed, tf.sub(1, tf.square(cache.tanhOut))) : gMixed;
    const d4 = tf.expandDims(dout, 2); // [B, W, 1, q]
    const dpre = tf.mul(tf.mul(tf.expandDims(cache.alpha, 3), d4), tf.sub(1, tf.square(cache.y)));
    const dalpha = tf.sum(tf.mul(d4, cache.y), 3); // [B, W, M]
    const dlogit = tf.mul(cache.alpha, tf.sub(dalpha, tf.sum(tf.mul(cache.alpha, dalpha), 2, true)));
    const dz = tf.concat([tf.div(dlogit, Math.sqrt(this.nd)), tf.reshape(dpre, [b, w, m * q])], 2); // [B, W, K]
    let grads: FeedforwardLayerGrads | undefined;
    if (needParams) {
      const dW = perNeuronOuter(dz, cache.u); // [W, K, nd]
      grads = {
        keys: tf.slice(dW, [0, 0, 0], [w, m, this.nd]),
        A: tf.reshape(tf.slice(dW, [0, m, 0], [w, m * q, this.nd]), [w, m, q, this.nd]),
        b: tf.sum(dpre, 0),
      };
    }
    if (l === 0) return grads ? { grads } : {};
    const wcat = tf.concat(
      [this.v(`hiddenKeys.${l}`), tf.reshape(this.v(`hiddenA.${l}`), [w, m * q, this.nd])],
      1,
    );
    const du = perNeuronMatVec(dz, wcat); // [B, W, nd]
    const g = this.parentGathers[l - 1] as HostGather;
    let dhPrev: tf.Tensor = tf.tensor3d(g.scatterAdd(du.dataSync() as Float32Array, b), [b, w, q]);
    if (cache.tanhOut) dhPrev = tf.add(dhPrev, gMixed);
    return grads ? { grads, dhPrev } : { dhPrev };
  }

  /** SG slot maps and prediction of layer l from a forward cache, with the current SG parameters. */
  sgPrediction(l: number, cache: FeedforwardLayerCache): { sgLin: tf.Tensor; sgPred: tf.Tensor } {
    const { width: w, numSlots: m, neuronDim: q } = this.config;
    const b = cache.u.shape[0] as number;
    const wa = tf.reshape(this.v(`sg.hiddenA.${l}`), [w, m * q, this.nd]);
    const lin = tf.add(
      perNeuronMatVec(cache.u, wa, true),
      tf.reshape(this.v(`sg.hiddenB.${l}`), [1, w, m * q]),
    );
    const sgLin = tf.reshape(lin, [b, w, m, q]);
    return { sgLin, sgPred: tf.sum(tf.mul(tf.expandDims(cache.alpha, 3), sgLin), 2) };
  }

  /** Slot predictions of the action head [B, A, A]: f . sg.actionA[a] + sg.actionB[a]. */
  actionSlotPredictions(h: tf.Tensor): tf.Tensor {
    const { width: w, neuronDim: q, numActions: a } = this.config;
    const b = h.shape[0] as number;
    const f = tf.reshape(h, [b, w * q]);
    const wmat = tf.reshape(tf.transpose(this.v("sg.actionA"), [1, 0, 2]), [w * q, a * a]);
    return tf.add(tf.reshape(tf.matMul(f, wmat), [b, a, a]), this.v("sg.actionB"));
  }

  /** Every parameter as named float data, plus the connectivity (for checkpoints). */
  dispose(): void {
    tf.dispose(Object.values(this.vars));
    this.native?.dispose();
    this.native = undefined;
  }
}

let variableCounter = 0;
