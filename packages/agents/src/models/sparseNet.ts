import type { Rng } from "@sgprop/gym";
import { type SimdForwardNet, simdForwardHidden } from "@sgprop/kernels";
import * as tf from "@tensorflow/tfjs-core";
import { hostData } from "../kernels/hostMirror.js";
import { gatherNeuronMajor, HostGather } from "../ops/hostGather.js";
import {
  fastTanh,
  perNeuronKernel,
  perNeuronMatVec,
  perNeuronMatVecs,
  perNeuronOuter,
} from "../ops/perNeuron.js";
import { InvalidConfigError, InvalidInputError, requireInt } from "./errors.js";
import { type HostParams, NativeFeedforward } from "./sparseNetNative.js";

/** Sizes of the feed-forward FeedforwardSparseNet of the bandit (SPEC 4.2). */
export interface FeedforwardSparseNetConfig {
  /** Context length X (784 for MNIST). */
  readonly inputDim: number;
  /** Hidden layers L. */
  readonly numLayers: number;
  /** Neurons per layer W. */
  readonly width: number;
  /** Neuron state size q. */
  readonly neuronDim: number;
  /** Slots per neuron M. */
  readonly numSlots: number;
  /** Parents per neuron P (layer 0 reads P*q pixels). */
  readonly numParents: number;
  /** Actions A. */
  readonly numActions: number;
  /** Layers l > 0 output tanh(out) + h_{l-1} (the paper's setting). */
  readonly residual: boolean;
}

/** Validates a configuration and returns it; impossible sizes throw {@link InvalidConfigError}. */
export function checkFeedforwardConfig(c: FeedforwardSparseNetConfig): FeedforwardSparseNetConfig {
  requireInt("inputDim", c.inputDim, 1);
  requireInt("numLayers", c.numLayers, 1);
  requireInt("width", c.width, 1);
  requireInt("neuronDim", c.neuronDim, 1);
  requireInt("numSlots", c.numSlots, 1);
  requireInt("numParents", c.numParents, 1);
  requireInt("numActions", c.numActions, 2);
  if (c.numParents > c.width) {
    throw new InvalidConfigError("numParents", c.numParents, `<= width (${c.width}): parents are distinct`);
  }
  if (c.numParents * c.neuronDim > c.inputDim) {
    throw new InvalidConfigError(
      "numParents * neuronDim",
      c.numParents * c.neuronDim,
      `<= inputDim (${c.inputDim}): layer-0 neurons read distinct pixels`,
    );
  }
  return c;
}

/** Canonical names of the policy parameters of a FeedforwardSparseNet with L layers. */
export function feedforwardPolicyNames(numLayers: number): string[] {
  const names: string[] = [];
  for (let l = 0; l < numLayers; l++) names.push(`hiddenKeys.${l}`, `hiddenA.${l}`, `hiddenB.${l}`);
  names.push("actionKeys");
  return names;
}

/** Canonical names of the SG-predictor parameters. */
export function feedforwardSgNames(numLayers: number): string[] {
  const names: string[] = [];
  for (let l = 0; l < numLayers; l++) names.push(`sg.hiddenA.${l}`, `sg.hiddenB.${l}`);
  names.push("sg.actionA", "sg.actionB");
  return names;
}

/** Canonical shapes of every parameter. */
export function feedforwardShapes(c: FeedforwardSparseNetConfig): Record<string, number[]> {
  const { width: w, numSlots: m, neuronDim: q, numActions: a } = c;
  const nd = c.numParents * q;
  const shapes: Record<string, number[]> = {};
  for (let l = 0; l < c.numLayers; l++) {
    shapes[`hiddenKeys.${l}`] = [w, m, nd];
    shapes[`hiddenA.${l}`] = [w, m, q, nd];
    shapes[`hiddenB.${l}`] = [w, m, q];
    shapes[`sg.hiddenA.${l}`] = [w, m, q, nd];
    shapes[`sg.hiddenB.${l}`] = [w, m, q];
  }
  shapes.actionKeys = [a, w * q];
  shapes["sg.actionA"] = [a, w * q, a];
  shapes["sg.actionB"] = [a, a];
  return shapes;
}

/** Fixed random connectivity: row-major int arrays. */
export interface FeedforwardConnectivity {
  /** [W, nd] pixel indices read by layer-0 neurons. */
  readonly firstLayerInputIdx: Int32Array;
  /** [L-1, W, P] parents (in layer l-1) of neuron i of layer l. */
  readonly parentIdx: Int32Array;
}

/** Draws the connectivity uniformly without replacement per neuron (SPEC 4.2). */
export function drawFeedforwardConnectivity(
  c: FeedforwardSparseNetConfig,
  rng: Rng,
): FeedforwardConnectivity {
  const nd = c.numParents * c.neuronDim;
  const first = new Int32Array(c.width * nd);
  for (let i = 0; i < c.width; i++) first.set(rng.sampleWithoutReplacement(c.inputDim, nd), i * nd);
  const parents = new Int32Array((c.numLayers - 1) * c.width * c.numParents);
  for (let k = 0; k < (c.numLayers - 1) * c.width; k++) {
    parents.set(rng.sampleWithoutReplacement(c.width, c.numParents), k * c.numParents);
  }
  return { firstLayerInputIdx: first, parentIdx: parents };
}

function checkConnectivity(c: FeedforwardSparseNetConfig, conn: FeedforwardConnectivity): void {
  const nd = c.numParents * c.neuronDim;
  if (conn.firstLayerInputIdx.length !== c.width * nd) {
    throw new InvalidConfigError(
      "firstLayerInputIdx length",
      conn.firstLayerInputIdx.length,
      `${c.width * nd}`,
    );
  }
  if (conn.parentIdx.length !== (c.numLayers - 1) * c.width * c.numParents) {
    throw new InvalidConfigError(
      "parentIdx length",
      conn.parentIdx.length,
      `${(c.numLayers - 1) * c.width * c.numParents}`,
    );
  }
  conn.firstLayerInputIdx.forEach((v, k) => {
    if (v < 0 || v >= c.inputDim)
      throw new InvalidConfigError(`firstLayerInputIdx[${k}]`, v, `in [0, ${c.inputDim})`);
  });
  conn.parentIdx.forEach((v, k) => {
    if (v < 0 || v >= c.width) throw new InvalidConfigError(`parentIdx[${k}]`, v, `in [0, ${c.width})`);
  });
}

/** Draws every parameter with the paper's initialisation (normal, std 1/sqrt(nd); action head 1/sqrt(W q)). */
export function initFeedforwardParams(c: FeedforwardSparseNetConfig, rng: Rng): Record<string, tf.Tensor> {
  const nd = c.numParents * c.neuronDim;
  const out: Record<string, tf.Tensor> = {};
  for (const [name, shape] of Object.entries(feedforwardShapes(c))) {
    // The reference draws actionKeys with std 1/sqrt(nd) too; only the SG action head uses 1/sqrt(W q).
    const std = name.startsWith("sg.action") ? 1 / Math.sqrt(c.width * c.neuronDim) : 1 / Math.sqrt(nd);
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = rng.normal() * std;
    out[name] = tf.tensor(data, shape);
  }
  return out;
}

/** Everything the forward pass keeps for the backward pass of one layer (sample-major). */
export interface FeedforwardLayerCache {
  /** Neuron inputs [B, W, nd]. */
  readonly u: tf.Tensor;
  /** Routing weights [B, W, M]. */
  readonly alpha: tf.Tensor;
  /** Slot outputs [B, W, M, q]. */
  readonly y: tf.Tensor;
  /** Layer output h_l [B, W, q]. */
  readonly h: tf.Tensor;
  /** tanh(out) of a residual layer (l > 0), else undefined. */
  readonly tanhOut?: tf.Tensor;
  /** SG prediction hhat_l(u_l) [B, W, q] when requested. */
  readonly sgPred?: tf.Tensor;
  /** SG slot maps Atilde u + btilde [B, W, M, q] behind sgPred. */
  readonly sgLin?: tf.Tensor;
}

/** Forward values of the network for a batch. */
export interface FeedforwardForward {
  readonly layers: readonly FeedforwardLayerCache[];
  /** Action logits [B, A]. */
  readonly logits: tf.Tensor;
  /** Set when the pass ran on the SIMD kernels: its arrays live in the kernels' memory. */
  readonly native?: NativeTraceRef;
}

/** A forward pass held in kernel memory (valid until the network's next forward pass). */
export interface NativeTraceRef {
  readonly engine: NativeFeedforward;
  readonly generation: number;
  readonly withSg: boolean;
}

/** The engine of a trace, after checking that no later forward pass overwrote it. */
export function liveTrace(ref: NativeTraceRef): NativeFeedforward {
  if (ref.engine.generation !== ref.generation) {
    throw new Error(
      "this SparseNet forward trace is stale: a later forward pass of the same network overwrote it",
    );
  }
  return ref.engine;
}

/**
 * A layer cache whose arrays stay in kernel memory; each tensor is materialised (in the current
 * tfjs scope) only when a tfjs code path asks for it, e.g. the reference implementation of an
 * option the kernels do not cover.
 */
class NativeLayerCache implements FeedforwardLayerCache {
  private readonly made = new Map<string, tf.Tensor>();
  constructor(
    private readonly ref: NativeTraceRef,
    private readonly l: number,
    readonly h: tf.Tensor,
    private readonly residual: boolean,
  ) {}

  private tensor(name: "u" | "alpha" | "y" | "tanh" | "sgLin" | "sgPred", shape: number[]): tf.Tensor {
    const have = this.made.get(name);
    if (have !== undefined && !have.isDisposed) return have;
    const t = tf.tensor(liveTrace(this.ref).read(this.l, name), shape);
    this.made.set(name, t);
    return t;
  }

  private dims(): [number, number, number, number, number] {
    const c = this.ref.engine.config;
    return [this.h.shape[0] as number, c.width, c.numSlots, c.neuronDim, c.numParents * c.neuronDim];
  }

  get u(): tf.Tensor {
    const [b, w, , , nd] = this.dims();
    return this.tensor("u", [b, w, nd]);
  }
  get alpha(): tf.Tensor {
    const [b, w, m] = this.dims();
    return this.tensor("alpha", [b, w, m]);
  }
  get y(): tf.Tensor {
    const [b, w, m, q] = this.dims();
    return this.tensor("y", [b, w, m, q]);
  }
  get tanhOut(): tf.Tensor | undefined {
    const [b, w, , q] = this.dims();
    return this.residual ? this.tensor("tanh", [b, w, q]) : undefined;
  }
  get sgPred(): tf.Tensor | undefined {
    const [b, w, , q] = this.dims();
    return this.ref.withSg ? this.tensor("sgPred", [b, w, q]) : undefined;
  }
  get sgLin(): tf.Tensor | undefined {
    const [b, w, m, q] = this.dims();
    return this.ref.withSg ? this.tensor("sgLin", [b, w, m, q]) : undefined;
  }
}

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
    checkConnectivity(config, connectivity);
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
    return pick(this.vars, feedforwardPolicyNames(this.config.numLayers));
  }

  /** SG-predictor parameters by canonical name. */
  sgVars(): Record<string, tf.Variable> {
    return pick(this.vars, feedforwardSgNames(this.config.numLayers));
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
      const h = simdForwardHidden(this.hostWeights(), xd, b);
      const { width: w, neuronDim: q } = this.config;
      return tf.tidy(() => tf.softmax(this.actionLogits(tf.tensor2d(h, [b, w * q])), -1));
    }
    const dim = this.config.inputDim;
    return tf.tidy(() => {
      const weights = this.neuronMajorWeights();
      const parts: tf.Tensor[] = [];
      for (let s = 0; s < b; s += chunk) {
        const n = Math.min(chunk, b - s);
        parts.push(
          tf.tidy(() =>
            tf.softmax(this.logitsNeuronMajor(xd.subarray(s * dim, (s + n) * dim), n, weights), -1),
          ),
        );
      }
      return parts.length === 1 ? (parts[0] as tf.Tensor) : tf.concat(parts, 0);
    });
  }

  /** The hidden layers' parameters and connectivity as host arrays (for the SIMD forward kernel). */
  private hostWeights(): SimdForwardNet {
    const L = this.config.numLayers;
    const read = (prefix: string) => Array.from({ length: L }, (_, l) => hostData(this.v(`${prefix}.${l}`)));
    return {
      ...this.config,
      firstLayerInputIdx: this.connectivity.firstLayerInputIdx,
      parentIdx: this.connectivity.parentIdx,
      keys: read("hiddenKeys"),
      maps: read("hiddenA"),
      biases: read("hiddenB"),
    };
  }

  /**
   * Per-layer, per-neuron weights for the neuron-major path, cut on the host (one read of each
   * variable; slicing 200 small matrices out of a tensor costs far more on wasm): keys [nd, M]
   * pre-scaled by 1/sqrt(nd), slot maps [nd, M q] and slot biases [M q] both doubled (see
   * logitsNeuronMajor).
   */
  private neuronMajorWeights(): NeuronMajorWeights {
    const { numLayers: L, width: w, numSlots: m, neuronDim: q } = this.config;
    const nd = this.nd;
    const mq = m * q;
    const keys: tf.Tensor[][] = [];
    const maps: tf.Tensor[][] = [];
    const bias: tf.Tensor[][] = [];
    const scale = 1 / Math.sqrt(nd);
    for (let l = 0; l < L; l++) {
      const kd = this.v(`hiddenKeys.${l}`).dataSync() as Float32Array; // [W, M, nd]
      const ad = this.v(`hiddenA.${l}`).dataSync() as Float32Array; // [W, M q, nd]
      const bd = this.v(`hiddenB.${l}`).dataSync() as Float32Array; // [W, M q]
      const kl: tf.Tensor[] = [];
      const al: tf.Tensor[] = [];
      const bl: tf.Tensor[] = [];
      for (let i = 0; i < w; i++) {
        const kt = new Float32Array(nd * m);
        for (let s = 0; s < m; s++)
          for (let d = 0; d < nd; d++) kt[d * m + s] = (kd[(i * m + s) * nd + d] as number) * scale;
        const at = new Float32Array(nd * mq);
        for (let r = 0; r < mq; r++)
          for (let d = 0; d < nd; d++) at[d * mq + r] = 2 * (ad[(i * mq + r) * nd + d] as number);
        kl.push(tf.tensor2d(kt, [nd, m]));
        al.push(tf.tensor2d(at, [nd, mq]));
        bl.push(tf.tensor1d(bd.slice(i * mq, (i + 1) * mq).map((v) => 2 * v)));
      }
      keys.push(kl);
      maps.push(al);
      bias.push(bl);
    }
    const actionT = tf.div(tf.transpose(this.v("actionKeys")), Math.sqrt(w * q));
    return { keys, maps, bias, actionT };
  }

  private logitsNeuronMajor(xd: Float32Array, b: number, weights: NeuronMajorWeights): tf.Tensor {
    const { numLayers: L, width: w, numSlots: m, neuronDim: q, numParents: p, residual } = this.config;
    const { connectivity: conn, nd } = this;
    let hPrev: tf.Tensor | undefined;
    for (let l = 0; l < L; l++) {
      const u =
        l === 0
          ? gatherNeuronMajor(xd, conn.firstLayerInputIdx, b, this.config.inputDim, 1, nd, false)
          : gatherNeuronMajor(
              (hPrev as tf.Tensor).dataSync() as Float32Array,
              conn.parentIdx.subarray((l - 1) * w * p, l * w * p),
              b,
              w,
              q,
              p,
              true,
            );
      const keys = weights.keys[l] as tf.Tensor[];
      const maps = weights.maps[l] as tf.Tensor[];
      const bias = weights.bias[l] as tf.Tensor[];
      const zk: tf.Tensor[] = [];
      const pre: tf.Tensor[] = [];
      for (let i = 0; i < w; i++) {
        const ui = tf.tensor2d(u.subarray(i * b * nd, (i + 1) * b * nd), [b, nd]);
        zk.push(tf.matMul(ui, keys[i] as tf.Tensor));
        pre.push(tf.fused.matMul({ a: ui as tf.Tensor2D, b: maps[i] as tf.Tensor2D, bias: bias[i] }));
      }
      const alpha = tf.softmax(tf.stack(zk), -1); // [W, B, M]
      // The slot maps were doubled on the host, so sigmoid(pre) = (1 + tanh(A u + b)) / 2, and as
      // the routing weights sum to one, sum_m alpha_m tanh_m = 2 sum_m alpha_m sigmoid_m - 1: the
      // affine part of tanh moves from the [W, B, M q] slot outputs to the [W, B, q] layer output.
      const s = tf.reshape(tf.sigmoid(tf.stack(pre)), [w, b, m, q]);
      const out = tf.sub(tf.mul(tf.sum(tf.mul(tf.expandDims(alpha, 3), s), 2), 2), 1); // [W, B, q]
      hPrev = residual && l > 0 ? tf.add(fastTanh(out), hPrev as tf.Tensor) : out;
    }
    const f = tf.reshape(tf.transpose(hPrev as tf.Tensor, [1, 0, 2]), [b, w * q]);
    return tf.matMul(f, weights.actionT);
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

interface NeuronMajorWeights {
  readonly keys: tf.Tensor[][];
  readonly maps: tf.Tensor[][];
  readonly bias: tf.Tensor[][];
  readonly actionT: tf.Tensor;
}

function pick<T>(all: Readonly<Record<string, T>>, names: readonly string[]): Record<string, T> {
  const out: Record<string, T> = {};
  for (const n of names) {
    const t = all[n];
    if (t === undefined) throw new Error(`no parameter ${n}`);
    out[n] = t;
  }
  return out;
}
