/**
 * The recurrent SparseNet's neuron core: the phases of an update (and the forward step) as calls
 * of the WebAssembly SIMD kernels of @sgprop/kernels (coreForward.c, coreBackward.c, coreSgLoss.c,
 * coreEstimator.c), with the data each needs copied into the kernels' shared memory and the
 * results copied back. This file holds the core's types, the forward step and the SG predictions;
 * coreBackward.ts and coreSums.ts the backward pass, the SG loss and the eq. 3 sums.
 *
 * Every phase is computed as fixed halves of its rows (or environments) whose partial outputs are
 * combined in a fixed order, half 0 first: the kernel runtime may run the two halves on two
 * threads, and the numbers are the same on one (see corePool.ts).
 *
 * Why not tfjs ops: each neuron multiplies a P*q-long input by its own [P*q, M*q+M] map, i.e. W
 * tiny independent matmuls per step. tfjs runs those as a batched matmul that is ~10x slower per
 * FLOP than a plain loop here (wasm backend, 2 cores), and a step needs several such ops forward
 * and backward, 80 times. The kernels keep each neuron's map hot in cache and fuse gather, affine
 * map, tanh, softmax and the slot mixture (forward), and the mix, slot backward, input gradient and
 * parent scatter (backward); the contractions run as f32x4 blocks, the elementwise parts in f64.
 * The input neurons' embedding terms and their gradients are formed per row from the embedding
 * rows (EmbeddingTerm) in the same row halves.
 *
 * Layouts (row r = t*B + b): states [R][W][q] (so a row is flatten(H_t), index i*q + j), parent
 * inputs [R][W][Pq], routing [R][W][M], slot outputs [R][W][M*q]; maps [W][Pq][C] with columns
 * s*q+j (slot outputs) then M routing scores.
 */

import {
  addr,
  allocLayout,
  type CoreKernelName,
  forwardStepTask,
  type KernelLayout,
  type PendingKernel,
  pad8,
  predictionsTask,
  startHalves,
  type TaskArg,
} from "@sgprop/kernels";

/** Sizes of the core (see SparseNetDims). */
export interface CoreSizes {
  readonly W: number;
  readonly q: number;
  readonly P: number;
  readonly M: number;
  readonly Ni: number;
  readonly Pq: number;
  readonly Mq: number;
  readonly C: number;
  readonly D: number;
}

/** Per-neuron maps of the core in loop-friendly layout. */
export interface CoreMaps {
  /** [W][Pq][C] */
  readonly wPar: Float32Array;
  /** [W][C] slot biases (zeros in the routing columns). */
  readonly bias: Float32Array;
  /** [W*P] */
  readonly parentIdx: Int32Array;
}

/** [W][len][cols] -> [W][cols][len] */
export function transposeMaps(w: Float32Array, numNeurons: number, len: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let i = 0; i < numNeurons; i++) {
    const o = i * len * cols;
    for (let k = 0; k < len; k++)
      for (let c = 0; c < cols; c++) out[o + c * len + k] = w[o + k * cols + c] as number;
  }
  return out;
}

/**
 * The input neurons' embedding rows and one [E][Ni*cols] map of them (wEmb or sgEmb of
 * CoreKernels): the phases that need the embedding term or its gradients compute them per row on
 * the kernels, in the same halves as the rest. `emb` should be on shared memory.
 */
export interface EmbeddingTerm {
  /** [R][E] */
  readonly emb: Float32Array;
  /** [E][Ni*cols] */
  readonly maps: Float32Array;
}

export interface CoreTrace {
  readonly rows: number;
  readonly uPar: Float32Array;
  readonly alpha: Float32Array;
  readonly y: Float32Array;
  readonly h: Float32Array;
}

/** Zeroed Float32Array on a SharedArrayBuffer, so core workers read it without a copy. */
export function sharedFloat32(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(length * Float32Array.BYTES_PER_ELEMENT));
}

/** Zeroed Float64Array on a SharedArrayBuffer. */
export function sharedFloat64(length: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(length * Float64Array.BYTES_PER_ELEMENT));
}

export function allocTrace(s: CoreSizes, rows: number): CoreTrace {
  return {
    rows,
    uPar: sharedFloat32(rows * s.W * s.Pq),
    alpha: sharedFloat32(rows * s.W * s.M),
    y: sharedFloat32(rows * s.W * s.Mq),
    h: sharedFloat32(rows * s.W * s.q),
  };
}

/** The first `rows` rows of a trace (views, no copy). */
export function traceRows(trace: CoreTrace, s: CoreSizes, rows: number): CoreTrace {
  if (rows > trace.rows) throw new RangeError(`trace has ${trace.rows} rows, ${rows} requested`);
  return {
    rows,
    uPar: trace.uPar.subarray(0, rows * s.W * s.Pq),
    alpha: trace.alpha.subarray(0, rows * s.W * s.M),
    y: trace.y.subarray(0, rows * s.W * s.Mq),
    h: trace.h.subarray(0, rows * s.W * s.q),
  };
}

/** One half of a core phase: its kernel arguments, and what to do with its outputs. */
export interface CoreHalf {
  readonly args: readonly TaskArg[];
  /** Reads the half's outputs out of the kernels' memory and releases it. */
  finish(): void;
}

/**
 * Starts core kernel `name` on its halves, given as functions that copy a half's inputs into
 * kernel memory (`undefined`: a half without rows). The last half is prepared and queued for the
 * helper thread first (when `parallel`), so that it computes while this thread prepares the
 * others, as a separate request of width 1 each; the returned function completes them (this
 * thread takes any the helper has not started) and then finishes the halves in order, half 0
 * first. Which thread computes a half changes no bit.
 */
export function startCoreHalves(
  name: CoreKernelName,
  halves: readonly (() => CoreHalf | undefined)[],
  parallel: boolean,
  shared?: KernelLayout,
): () => void {
  const prepared: (CoreHalf | undefined)[] = [];
  const pending: PendingKernel[] = [];
  for (let h = halves.length - 1; h >= 0; h--) {
    const half = (halves[h] as () => CoreHalf | undefined)();
    prepared[h] = half;
    pending[h] = startHalves(name, [half?.args], parallel);
  }
  return () => {
    for (const p of pending) p.finish();
    for (const h of prepared) h?.finish();
    shared?.release();
  };
}

/**
 * One step for B rows: rows `row0 .. row0+B-1` of the trace are written. `hPrev` [B][W][q] is the
 * previous state (its row b is zeroed where keep[b] = 0), `extIn` [B][Ni][C] the embedding term of
 * the input neurons for these rows (offset `extOffset` in `ext`).
 */
export function coreForwardStep(
  s: CoreSizes,
  maps: CoreMaps,
  hPrev: Float32Array,
  hPrevOffset: number,
  keep: ArrayLike<number>,
  ext: Float32Array,
  extOffset: number,
  trace: CoreTrace,
  row0: number,
  numRows: number,
): void {
  const { W, q, P, M, Ni, Pq, Mq, C } = s;
  const ws = forwardWorkspace(s, maps, numRows);
  const n = numRows;
  ws.hPrev.set(hPrev.subarray(hPrevOffset, hPrevOffset + n * W * q));
  for (let b = 0; b < n; b++) ws.keep[b] = keep[b] as number;
  if (Ni > 0) ws.ext.set(ext.subarray(extOffset, extOffset + n * Ni * C));
  const step = forwardStepTask({
    n,
    W,
    q,
    P,
    M,
    Ni,
    parentIdx: addr(ws.parentIdx),
    hPrev: addr(ws.hPrev),
    keep: addr(ws.keep),
    ext: addr(ws.ext),
    extStride: Ni * C,
    bias: addr(ws.bias),
    wPad: addr(ws.w),
    cp: ws.cp,
    invSqrtD: 1 / Math.sqrt(s.D),
    u: addr(ws.u),
    z: addr(ws.z),
    y: addr(ws.y),
    alpha: addr(ws.alpha),
    h: addr(ws.h),
    zz: addr(ws.zz),
  });
  startHalves("forward_step_halves", [step], false).finish();
  trace.uPar.set(ws.u.subarray(0, n * W * Pq), row0 * W * Pq);
  trace.y.set(ws.y.subarray(0, n * W * Mq), row0 * W * Mq);
  trace.alpha.set(ws.alpha.subarray(0, n * W * M), row0 * W * M);
  trace.h.set(ws.h.subarray(0, n * W * q), row0 * W * q);
}

/**
 * {@link coreForwardStep} over the steps firstStep..numSteps-1 of numRows rows each: step t reads
 * H_{t-1} from the trace (h0 at t = 0), its keep flags at rows t*numRows.., and its embedding term
 * at step t - firstStep of `ext`. The one rollout loop of the trainer's BPTT and the diagnosis.
 */
export function coreForwardSteps(
  s: CoreSizes,
  maps: CoreMaps,
  h0: Float32Array,
  keep: Float32Array,
  ext: Float32Array,
  trace: CoreTrace,
  firstStep: number,
  numSteps: number,
  numRows: number,
): void {
  const { W, q, Ni, C } = s;
  const B = numRows;
  for (let t = firstStep; t < numSteps; t++) {
    const prev = t === 0 ? h0 : trace.h;
    const prevOffset = t === 0 ? 0 : (t - 1) * B * W * q;
    const keepT = keep.subarray(t * B, (t + 1) * B);
    coreForwardStep(s, maps, prev, prevOffset, keepT, ext, (t - firstStep) * B * Ni * C, trace, t * B, B);
  }
}

/** [W][len][cols] maps as [W][len][cp] (columns cols..cp-1 are padding). */
export function padMaps(
  w: Float32Array,
  W: number,
  len: number,
  cols: number,
  cp: number,
  out: Float32Array,
): void {
  for (let i = 0; i < W; i++)
    for (let k = 0; k < len; k++) {
      const src = (i * len + k) * cols;
      out.set(w.subarray(src, src + cols), (i * len + k) * cp);
    }
}

/** [W][cols][len] maps as [W][len][cp] (transposed; columns cols..cp-1 are padding). */
export function padMapsTransposed(
  wT: Float32Array,
  W: number,
  len: number,
  cols: number,
  cp: number,
  out: Float32Array,
): void {
  for (let i = 0; i < W; i++)
    for (let c = 0; c < cols; c++) {
      const src = (i * cols + c) * len;
      for (let k = 0; k < len; k++) out[(i * len + k) * cp + c] = wT[src + k] as number;
    }
}

type F32s<N extends number, A extends Float32Array[] = []> = A["length"] extends N
  ? A
  : F32s<N, [...A, Float32Array]>;

interface ForwardWorkspace {
  readonly layout: KernelLayout;
  readonly maps: CoreMaps;
  readonly rows: number;
  readonly cp: number;
  /** [W][Pq][cp] parent-part maps, [W][C] biases, [W*P] parents */
  readonly w: Float32Array;
  readonly bias: Float32Array;
  readonly parentIdx: Int32Array;
  /** Per-step inputs and outputs of up to `rows` rows. */
  readonly hPrev: Float32Array;
  readonly keep: Float32Array;
  readonly ext: Float32Array;
  readonly u: Float32Array;
  readonly z: Float32Array;
  readonly y: Float32Array;
  readonly alpha: Float32Array;
  readonly h: Float32Array;
  readonly zz: Float64Array;
}

let forwardCache: ForwardWorkspace | undefined;

/** The forward step's kernel buffers, kept across the steps of a rollout (same maps). */
function forwardWorkspace(s: CoreSizes, maps: CoreMaps, rows: number): ForwardWorkspace {
  const c = forwardCache;
  if (c !== undefined && c.maps === maps && c.rows >= rows) return c;
  c?.layout.release();
  const { W, q, P, M, Ni, Pq, Mq, C } = s;
  const cp = pad8(C);
  const lay = allocLayout({
    f64: [C],
    f32: [
      W * Pq * cp,
      W * C,
      rows * W * q,
      rows,
      rows * Ni * C,
      rows * W * Pq,
      rows * W * cp,
      rows * W * Mq,
      rows * W * M,
      rows * W * q,
    ],
    i32: [W * P],
  });
  const [w, bias, hPrev, keep, ext, u, z, y, alpha, h] = lay.f32 as F32s<10>;
  padMaps(maps.wPar, W, Pq, C, cp, w);
  bias.set(maps.bias);
  const parentIdx = lay.i32[0] as Int32Array;
  parentIdx.set(maps.parentIdx);
  forwardCache = {
    layout: lay,
    maps,
    rows,
    cp,
    w,
    bias,
    parentIdx,
    hPrev,
    keep,
    ext,
    u,
    z,
    y,
    alpha,
    h,
    zz: lay.f64[0] as Float64Array,
  };
  return forwardCache;
}

/** SG predictions hhat = sum_s alpha_s (Atilde_s u + btilde_s) for every row of a trace: [R][W][q]. */
export function corePredictions(
  s: CoreSizes,
  sgParT: Float32Array,
  sgBias: Float32Array,
  sgExt: Float32Array | EmbeddingTerm,
  trace: CoreTrace,
): Float32Array {
  const out = sharedFloat32(trace.rows * s.W * s.q);
  startPredictionHalves(s, sgParT, sgBias, sgExt, trace, out, predictionSplit(trace.rows), false)();
  return out;
}

/** The fixed split point of the predictions' rows (an even one keeps row pairs together). */
export function predictionSplit(rows: number): number {
  return 2 * Math.floor(rows / 4);
}

/**
 * Starts the predictions of rows [0, mid) and [mid, rows) into `out` [R][W][q] (on two threads
 * when `parallel`); the returned function completes them. Every row has its own accumulators, so
 * the values do not depend on the split.
 */
export function startPredictionHalves(
  s: CoreSizes,
  sgParT: Float32Array,
  sgBias: Float32Array,
  sgExt: Float32Array | EmbeddingTerm,
  trace: CoreTrace,
  out: Float32Array,
  mid: number,
  parallel: boolean,
): () => void {
  const { W, Ni, Pq, Mq } = s;
  const MqP = pad8(Mq);
  const term = sgExt instanceof Float32Array ? undefined : sgExt;
  const E = term !== undefined ? embeddingWidth(s) : 0;
  // With embedding rows, the term is e sgEmb computed by the kernel ([rows][NMp]); else sgExt rows are copied.
  const extStride = term !== undefined ? pad8(Ni * Mq) : Ni * Mq;
  const shared = allocLayout({ f32: [W * Pq * MqP, W * Mq, E * extStride] });
  const [w, bias, embMaps] = shared.f32 as F32s<3>;
  padMapsTransposed(sgParT, W, Pq, Mq, MqP, w);
  bias.set(sgBias.subarray(0, W * Mq));
  if (term !== undefined) padMaps(term.maps, 1, E, Ni * Mq, extStride, embMaps);
  const half = (r0: number, r1: number) =>
    predictionHalf(s, { w, bias, embMaps, MqP, extStride, E }, sgExt, trace, out, r0, r1);
  return startCoreHalves(
    "predictions_halves",
    [() => half(0, mid), () => half(mid, trace.rows)],
    parallel,
    shared,
  );
}

/** Predictions of rows r0..r1-1 into `out` [R][W][q] (the maps already in kernel memory). */
function predictionHalf(
  s: CoreSizes,
  m: {
    readonly w: Float32Array;
    readonly bias: Float32Array;
    readonly embMaps: Float32Array;
    readonly MqP: number;
    readonly extStride: number;
    readonly E: number;
  },
  sgExt: Float32Array | EmbeddingTerm,
  trace: CoreTrace,
  out: Float32Array,
  r0: number,
  r1: number,
): CoreHalf | undefined {
  const { W, q, P, M, Ni, Pq, Mq } = s;
  const n = r1 - r0;
  if (n <= 0) return undefined;
  const { MqP, extStride, E } = m;
  const term = sgExt instanceof Float32Array ? undefined : sgExt;
  const Ep = pad8(E);
  const chunk = Math.min(n, PREDICTION_CHUNK);
  const lay = allocLayout({
    f64: [Mq],
    f32: [
      n * W * Pq,
      n * W * M,
      (term !== undefined ? chunk : n) * extStride,
      chunk * W * MqP,
      n * W * q,
      n * Ep,
    ],
  });
  const [u, alpha, ext, z, pred, embRows] = lay.f32 as F32s<6>;
  u.set(trace.uPar.subarray(r0 * W * Pq, r1 * W * Pq));
  alpha.set(trace.alpha.subarray(r0 * W * M, r1 * W * M));
  if (term !== undefined) {
    for (let l = 0; l < n; l++) embRows.set(term.emb.subarray((r0 + l) * E, (r0 + l + 1) * E), l * Ep);
  } else if (Ni > 0) {
    ext.set((sgExt as Float32Array).subarray(r0 * Ni * Mq, r1 * Ni * Mq));
  }
  const args = predictionsTask({
    n,
    W,
    q,
    P,
    M,
    Ni,
    u: addr(u),
    alpha: addr(alpha),
    sgExt: addr(ext),
    extStride,
    sgBias: addr(m.bias),
    wPad: addr(m.w),
    cp: MqP,
    z: addr(z),
    out: addr(pred),
    zz: addr(lay.f64[0] as Float64Array),
    withEmb: term !== undefined ? 1 : 0,
    embRows: addr(embRows),
    ep: Ep,
    embMaps: addr(m.embMaps),
    E,
    chunkRows: chunk,
  });
  return {
    args,
    finish: () => {
      out.set(pred.subarray(0, n * W * q), r0 * W * q);
      lay.release();
    },
  };
}

/** The valid rows (row indices where valid[r] is nonzero). */
export function validRows(valid: ArrayLike<number>, numRows: number): Int32Array {
  const rows: number[] = [];
  for (let r = 0; r < numRows; r++) if (valid[r]) rows.push(r);
  return Int32Array.from(rows);
}

/** Rows per kernel chunk of the predictions (their pre-activations stay in cache). */
const PREDICTION_CHUNK = 64;

/** Width E of the embedding part of a neuron's input. */
export function embeddingWidth(s: CoreSizes): number {
  return s.D - s.Pq;
}

export type { F32s };
