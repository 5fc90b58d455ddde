/**
 * The feed-forward SparseNet's training passes on the WebAssembly SIMD kernels
 * (kernels/feedforward.c): every per-layer array of a batch (neuron inputs, routing weights, slot
 * outputs, hidden states, SG predictions, gradients) lives in the kernels' memory for the whole
 * step, so a training step crosses into TensorFlow.js only for the action head and the optimiser.
 * The tfjs implementation in sparsenet.ts and sgprop.ts stays the reference and the
 * path for other backends; both are checked against the golden files.
 */
import {
  FB,
  type FeedforwardKernel,
  type FeedforwardWords,
  ffBackward,
  ffForward,
  ffMix,
  ffPackWcat,
  ffScatter,
  ffSgGrad,
  ffSgRefresh,
  kernelRuntime,
  pnPack,
  writeFeedforwardBlock,
} from "@sgprop/kernels";
import type { FeedforwardSparseNetConfig } from "./sparsenetConfig.js";

const round = (x: number, m: number) => Math.ceil(x / m) * m;

/** Float offsets of one layer's arrays in the kernels' memory. */
interface LayerArrays {
  wp: number;
  b: number;
  sgb: number;
  wsg: number;
  wcat: number;
  u: number;
  alpha: number;
  y: number;
  h: number;
  tanh: number;
  sgLin: number;
  sgPred: number;
  target: number;
}

/** pn_pack of a [W, rows, depth] block (src, dst, width, depth, rows, rowStride, rowOffset). */
function packTransposed(
  a: readonly [number, number, number, number, number, number, number],
  work: number,
): void {
  const [src, dst, width, depth, rows, rowStride, rowOffset] = a;
  pnPack({ src, dst, width, depth, rows, rowStride, rowOffset, transposed: true }, work);
}

/** The parameters a pass reads, as host arrays by canonical name. */
export type HostParams = (name: string) => Float32Array;

/** Per-layer parameter gradients of a backward pass (canonical layouts). */
export interface NativeLayerGrads {
  readonly keys: Float32Array;
  readonly A: Float32Array;
  readonly b: Float32Array;
}

/**
 * Kernel-memory buffers of one network for batches of up to `capacity` samples, and the passes.
 * A forward pass overwrites the previous one's arrays: {@link generation} tells a stale trace.
 */
export class NativeFeedforward {
  readonly config: FeedforwardSparseNetConfig;
  private readonly nd: number;
  private readonly ka: number;
  private readonly k1: number;
  private readonly dp: number;
  private readonly kps: number;
  private block = -1;
  private capacity = 0;
  private n = 0;
  private withSg = false;
  /** Incremented by every forward pass. */
  generation = 0;
  private layers: LayerArrays[] = [];
  private o: Record<string, number> = {};
  private scratchFloats = 0;

  constructor(
    config: FeedforwardSparseNetConfig,
    private readonly firstIdx: Int32Array,
    private readonly parentIdx: Int32Array,
  ) {
    this.config = config;
    this.nd = config.numParents * config.neuronDim;
    this.ka = round(config.numSlots, 4);
    this.k1 = config.numSlots * (1 + config.neuronDim);
    this.dp = round(this.nd, 12);
    this.kps = round(config.numSlots * config.neuronDim, 12);
  }

  /** Batch size of the current trace. */
  get batch(): number {
    return this.n;
  }

  private kp(withSg: boolean): number {
    const mq = this.config.numSlots * this.config.neuronDim;
    return round(this.ka + (withSg ? 2 : 1) * mq, 12);
  }

  /** (Re)allocates every array for batches of n samples. */
  private ensure(n: number): void {
    if (n <= this.capacity) return;
    const rt = kernelRuntime();
    if (this.block >= 0) rt.free(this.block);
    const { width: w, numSlots: m, neuronDim: q, numLayers: L, inputDim: x } = this.config;
    const nd = this.nd;
    const mq = m * q;
    const k1 = this.k1;
    const sizes: [string, number][] = [];
    const add = (name: string, floats: number) => sizes.push([name, round(floats + 16, 4)]);
    for (let l = 0; l < L; l++) {
      add(`wp${l}`, w * nd * this.kp(true));
      add(`b${l}`, w * mq);
      add(`sgb${l}`, w * mq);
      add(`wsg${l}`, w * nd * this.kps);
      add(`wcat${l}`, w * k1 * this.dp);
      add(`u${l}`, n * w * nd);
      add(`alpha${l}`, n * w * m);
      add(`y${l}`, n * w * mq);
      add(`h${l}`, n * w * q);
      add(`tanh${l}`, n * w * q);
      add(`sgLin${l}`, n * w * mq);
      add(`sgPred${l}`, n * w * q);
      add(`target${l}`, n * w * q);
    }
    add("x", n * x);
    add("firstIdx", w * nd);
    add("parentIdx", Math.max(1, (L - 1) * w * this.config.numParents));
    for (const g of ["gA", "gB", "mixed"]) add(g, n * w * q);
    add("dz", n * w * k1);
    add("dW", w * k1 * nd);
    add("db", w * mq);
    add("du", n * w * nd);
    add("theta", w);
    add("sums", 4 * w);
    add("thetaBatch", w);
    add("floatArg", 4);
    add("dsgA", w * mq * nd);
    add("dsgB", w * mq);
    add("sgLoss", 2 * w);
    add("raw", w * mq * nd + w * m * nd);
    add("prm", FB.COUNT);
    // Per-thread scratch: the largest of the kernels' needs (feedforward.c).
    const est = n * 2 * k1 + 4 + round(2 * k1 * nd, 4) + 6 * round(mq, 4) + 2 * m + 24;
    this.scratchFloats = round(
      Math.max(4 * this.kp(true) + mq + q + 16, 2 * (n * q + 4) + est, n * mq + 16, q + m + 16) + 16,
      4,
    );
    add("scratch", 2 * this.scratchFloats);
    const total = sizes.reduce((s, [, f]) => s + f, 0);
    this.block = rt.alloc(total);
    let at = this.block;
    this.o = {};
    for (const [name, f] of sizes) {
      this.o[name] = at;
      at += f;
    }
    this.layers = Array.from({ length: L }, (_, l) => ({
      wp: this.at(`wp${l}`),
      b: this.at(`b${l}`),
      sgb: this.at(`sgb${l}`),
      wsg: this.at(`wsg${l}`),
      wcat: this.at(`wcat${l}`),
      u: this.at(`u${l}`),
      alpha: this.at(`alpha${l}`),
      y: this.at(`y${l}`),
      h: this.at(`h${l}`),
      tanh: this.at(`tanh${l}`),
      sgLin: this.at(`sgLin${l}`),
      sgPred: this.at(`sgPred${l}`),
      target: this.at(`target${l}`),
    }));
    const ints = this.ints();
    ints.set(this.firstIdx, this.at("firstIdx"));
    ints.set(this.parentIdx, this.at("parentIdx"));
    this.capacity = n;
  }

  private at(name: string): number {
    const v = this.o[name];
    if (v === undefined) throw new Error(`native SparseNet: no array ${name}`);
    return v;
  }

  private f32(): Float32Array {
    return kernelRuntime().heap(0);
  }

  private ints(): Int32Array {
    return new Int32Array(this.f32().buffer);
  }

  /** A copy of n samples' worth of an array (floats per sample given). */
  private copy(offset: number, floats: number): Float32Array {
    return this.f32().slice(offset, offset + floats);
  }

  /** Fills the parameter block for layer l and runs a kernel over [0, width). */
  private run(
    kernel: FeedforwardKernel,
    l: number,
    set: FeedforwardWords,
    width: number,
    work: number,
  ): void {
    const c = this.config;
    const p = this.at("prm");
    const la = this.layers[l] as LayerArrays;
    const words: FeedforwardWords = {
      N: this.n,
      W: c.width,
      M: c.numSlots,
      Q: c.neuronDim,
      P: c.numParents,
      D: this.nd,
      KP: this.kp(this.withSg),
      DP: this.dp,
      KPS: this.kps,
      RESIDUAL: c.residual && l > 0 ? 1 : 0,
      LAYER0: l === 0 ? 1 : 0,
      WITH_SG: this.withSg ? 1 : 0,
      XDIM: c.inputDim,
      SRC: 4 * (l === 0 ? this.at("x") : (this.layers[l - 1] as LayerArrays).h),
      IDX: 4 * (l === 0 ? this.at("firstIdx") : this.at("parentIdx") + (l - 1) * c.width * c.numParents),
      WP: 4 * la.wp,
      B: 4 * la.b,
      SGB: 4 * la.sgb,
      WSG: 4 * la.wsg,
      WCAT: 4 * la.wcat,
      U: 4 * la.u,
      ALPHA: 4 * la.alpha,
      Y: 4 * la.y,
      H: 4 * la.h,
      TANH: 4 * la.tanh,
      SGLIN: 4 * la.sgLin,
      SGPRED: 4 * la.sgPred,
      TARGET: 4 * la.target,
      DZ: 4 * this.at("dz"),
      DW: 4 * this.at("dW"),
      DB: 4 * this.at("db"),
      DU: 4 * this.at("du"),
      THETA: 4 * this.at("theta"),
      MIXED: 4 * this.at("mixed"),
      SUMS: 4 * this.at("sums"),
      THETA_BATCH: 4 * this.at("thetaBatch"),
      FLOAT_ARG: 4 * this.at("floatArg"),
      DSGA: 4 * this.at("dsgA"),
      DSGB: 4 * this.at("dsgB"),
      SGLOSS: 4 * this.at("sgLoss"),
      SCRATCH: 4 * this.at("scratch"),
      SCRATCH_FLOATS: this.scratchFloats,
      ...set,
    };
    writeFeedforwardBlock(p, words);
    kernel(p, width, work);
  }

  /** Packs one layer's weights: forward columns [keys | pad | A (| sgA)], [keys; A] for du. */
  private packLayer(l: number, params: HostParams, withSg: boolean): void {
    const { width: w, numSlots: m, neuronDim: q } = this.config;
    const nd = this.nd;
    const mq = m * q;
    const la = this.layers[l] as LayerArrays;
    const raw = this.at("raw");
    const keys = params(`hiddenKeys.${l}`);
    const A = params(`hiddenA.${l}`);
    let heap = this.f32();
    heap.set(keys, raw);
    heap.set(A, raw + w * m * nd);
    heap.set(params(`hiddenB.${l}`), la.b);
    const kp = this.kp(withSg);
    const work = w * nd * mq;
    packTransposed([raw, la.wp, w, nd, m, kp, 0], work);
    packTransposed([raw + w * m * nd, la.wp, w, nd, mq, kp, this.ka], work);
    ffPackWcat(
      {
        keys: raw,
        A: raw + w * m * nd,
        dst: la.wcat,
        width: w,
        numSlots: m,
        slotEntries: mq,
        inputDim: nd,
        paddedDim: this.dp,
      },
      work,
    );
    if (withSg) {
      heap = this.f32();
      heap.set(params(`sg.hiddenA.${l}`), raw);
      heap.set(params(`sg.hiddenB.${l}`), la.sgb);
      packTransposed([raw, la.wp, w, nd, mq, kp, this.ka + mq], work);
      packTransposed([raw, la.wsg, w, nd, mq, this.kps, 0], work);
    }
  }

  /**
   * Forward pass of contexts x [n, X]: stores every layer's arrays and returns nothing; read the
   * hidden states with {@link hidden}. With `withSg` the SG predictions are computed too.
   */
  forward(x: Float32Array, n: number, params: HostParams, withSg: boolean): void {
    this.ensure(n);
    this.n = n;
    this.withSg = withSg;
    this.generation++;
    this.f32().set(x, this.at("x"));
    const { numLayers: L, width: w } = this.config;
    for (let l = 0; l < L; l++) {
      this.packLayer(l, params, withSg);
      this.run(ffForward, l, {}, n, n * w * this.nd * this.kp(withSg));
    }
  }

  /** Recomputes the SG predictions of the stored batch after an SG update. */
  refreshSg(params: HostParams): void {
    const { numLayers: L, width: w, numSlots: m, neuronDim: q } = this.config;
    const raw = this.at("raw");
    for (let l = 0; l < L; l++) {
      const la = this.layers[l] as LayerArrays;
      const heap = this.f32();
      heap.set(params(`sg.hiddenA.${l}`), raw);
      heap.set(params(`sg.hiddenB.${l}`), la.sgb);
      packTransposed([raw, la.wsg, w, this.nd, m * q, this.kps, 0], w * this.nd * m * q);
      this.run(ffSgRefresh, l, {}, this.n, this.n * w * this.nd * m * q);
    }
    this.withSg = true;
  }

  /** Layer l's array `name` of the current batch, copied out ([n, W, per-neuron size]). */
  read(l: number, name: "u" | "alpha" | "y" | "h" | "tanh" | "sgLin" | "sgPred" | "target"): Float32Array {
    const { width: w, numSlots: m, neuronDim: q } = this.config;
    const per = { u: this.nd, alpha: m, y: m * q, h: q, tanh: q, sgLin: m * q, sgPred: q, target: q }[name];
    return this.copy((this.layers[l] as LayerArrays)[name], this.n * w * per);
  }

  private gBuffer(which: 0 | 1): number {
    return this.at(which === 0 ? "gA" : "gB");
  }

  /** Writes the gradient arriving at the last hidden layer (n x W q floats). */
  setTopGradient(g: Float32Array): 0 {
    this.setGradient(0, g);
    return 0;
  }

  /** Writes an [n, W, q] gradient into buffer `which` (the diagnosis swaps the received vector). */
  setGradient(which: 0 | 1, g: Float32Array): void {
    this.f32().set(g, this.gBuffer(which));
  }

  /** The gradient in buffer `which` (a copy). */
  gradient(which: 0 | 1): Float32Array {
    return this.copy(this.gBuffer(which), this.n * this.config.width * this.config.neuronDim);
  }

  /**
   * Mixing at layer l's output (Definition 1) of the true gradient in buffer `g` with the SG
   * prediction, per-neuron theta; with `adaptive`, also the eq. 3 estimate (N > 1). Returns the
   * sums of g^2 and s^2 and the estimate; the mixed gradient is left for {@link backward}.
   */
  mix(
    l: number,
    g: 0 | 1,
    theta: Float32Array,
    mode: 0 | 1,
    adaptive: boolean,
    eps: number,
  ): { trueSq: number; synSq: number; thetaBatch?: Float32Array } {
    const { width: w } = this.config;
    const heap = this.f32();
    heap.set(theta, this.at("theta"));
    heap[this.at("floatArg")] = eps;
    const est = adaptive && this.n > 1;
    const work = this.n * w * (est ? 2 * this.k1 * this.nd : this.config.neuronDim);
    this.run(ffMix, l, { GTRUE: 4 * this.gBuffer(g), MODE: mode, ADAPTIVE: est ? 1 : 0 }, w, work);
    const sums = new Float64Array(this.f32().buffer, 4 * this.at("sums"), 2 * w);
    let trueSq = 0;
    let synSq = 0;
    for (let i = 0; i < w; i++) {
      trueSq += sums[2 * i] as number;
      synSq += sums[2 * i + 1] as number;
    }
    if (!adaptive) return { trueSq, synSq };
    const thetaBatch = est ? this.copy(this.at("thetaBatch"), w) : Float32Array.from(theta);
    return { trueSq, synSq, thetaBatch };
  }

  /** The mixed gradient of the last {@link mix} (a copy). */
  mixed(): Float32Array {
    return this.copy(this.at("mixed"), this.n * this.config.width * this.config.neuronDim);
  }

  /** Sum of squares of gradient buffer `which` (float64). */
  sumSquares(which: 0 | 1): number {
    const heap = this.f32();
    const o = this.gBuffer(which);
    let s = 0;
    for (let e = 0; e < this.n * this.config.width * this.config.neuronDim; e++)
      s += (heap[o + e] as number) ** 2;
    return s;
  }

  /**
   * Backward pass through layer l for the gradient at its output (gradient buffer `from`, or the
   * last mixed gradient): parameter gradients when asked, and for l > 0 the gradient at layer
   * l - 1's output written to the other buffer (whose index is returned).
   */
  backward(
    l: number,
    from: 0 | 1 | "mixed",
    needParams: boolean,
  ): { grads?: NativeLayerGrads; next?: 0 | 1 } {
    const w = this.config.width;
    const nd = this.nd;
    const gOff = from === "mixed" ? this.at("mixed") : this.gBuffer(from);
    const next: 0 | 1 = from === 0 ? 1 : 0;
    const work = this.n * w * this.k1 * nd * ((needParams ? 1 : 0) + (l > 0 ? 1 : 0));
    const set = { G: 4 * gOff, NEED_PARAMS: needParams ? 1 : 0, NEED_DU: l > 0 ? 1 : 0 };
    this.run(ffBackward, l, set, w, Math.max(work, 1));
    const grads = needParams ? this.layerGrads() : undefined;
    if (l === 0) return grads ? { grads } : {};
    this.run(ffScatter, l, { G: 4 * gOff, DHPREV: 4 * this.gBuffer(next) }, this.n, this.n * w * nd);
    return grads ? { grads, next } : { next };
  }

  /**
   * Layer l's parameter gradients (summed over the batch) for the gradient in `from`, without the
   * gradient at the inputs. `residualFactor` false takes the gradient as already multiplied by
   * 1 - tanh(out)^2 (the diagnosis's unit-normalised vectors, SPEC 4.5).
   */
  paramGradients(l: number, from: 0 | 1 | "mixed", residualFactor: boolean): NativeLayerGrads {
    const { width: w } = this.config;
    const g = 4 * (from === "mixed" ? this.at("mixed") : this.gBuffer(from));
    const set = { G: g, NEED_PARAMS: 1, NEED_DU: 0, ...(residualFactor ? {} : { RESIDUAL: 0 }) };
    this.run(ffBackward, l, set, w, Math.max(1, this.n * w * this.k1 * this.nd));
    return this.layerGrads();
  }

  /** The last backward pass's parameter gradients in canonical layouts (copies). */
  private layerGrads(): NativeLayerGrads {
    const { width: w, numSlots: m, neuronDim: q } = this.config;
    const nd = this.nd;
    const heap = this.f32();
    const dW = this.at("dW");
    const keys = new Float32Array(w * m * nd);
    const A = new Float32Array(w * m * q * nd);
    for (let i = 0; i < w; i++) {
      const base = dW + i * this.k1 * nd;
      keys.set(heap.subarray(base, base + m * nd), i * m * nd);
      A.set(heap.subarray(base + m * nd, base + this.k1 * nd), i * m * q * nd);
    }
    return { keys, A, b: this.copy(this.at("db"), w * m * q) };
  }

  /** Copies gradient buffer `which` into layer l's SG target. */
  storeTarget(l: number, which: 0 | 1): void {
    const heap = this.f32();
    const o = this.gBuffer(which);
    const size = this.n * this.config.width * this.config.neuronDim;
    heap.copyWithin((this.layers[l] as LayerArrays).target, o, o + size);
  }

  /**
   * The SG regression of layer l onto its stored target: the mean squared error and the
   * gradients of sg.hiddenA.l and sg.hiddenB.l (canonical layouts).
   */
  sgGradients(l: number): { loss: number; A: Float32Array; b: Float32Array } {
    const { width: w, numSlots: m, neuronDim: q } = this.config;
    const count = this.n * w * q;
    this.f32()[this.at("floatArg")] = 2 / count;
    this.run(ffSgGrad, l, {}, w, this.n * w * m * q * this.nd);
    const losses = new Float64Array(this.f32().buffer, 4 * this.at("sgLoss"), w);
    let loss = 0;
    for (let i = 0; i < w; i++) loss += losses[i] as number;
    return {
      loss: loss / count,
      A: this.copy(this.at("dsgA"), w * m * q * this.nd),
      b: this.copy(this.at("dsgB"), w * m * q),
    };
  }

  /** Releases the kernel memory. */
  dispose(): void {
    if (this.block >= 0) kernelRuntime().free(this.block);
    this.block = -1;
    this.capacity = 0;
  }
}
