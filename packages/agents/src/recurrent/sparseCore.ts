/**
 * The recurrent SparseNet's neuron core: the phases of an update (and the forward step) as calls
 * of the WebAssembly SIMD kernels in wasm/coreKernels.c, with the data each needs copied into the
 * calling thread's kernel memory and the results copied back (see wasmCore.ts).
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

import { addr, type CoreWasm, coreWasm, pad8 } from "./wasmCore.js";

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

/** What the forward pass keeps for the backward pass. */
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
  ws.kernels.call(
    "forward_step",
    n,
    W,
    q,
    P,
    M,
    Ni,
    addr(ws.parentIdx),
    addr(ws.hPrev),
    addr(ws.keep),
    addr(ws.ext),
    Ni * C,
    addr(ws.bias),
    addr(ws.w),
    ws.cp,
    1 / Math.sqrt(s.D),
    addr(ws.u),
    addr(ws.z),
    addr(ws.y),
    addr(ws.alpha),
    addr(ws.h),
    addr(ws.zz),
  );
  trace.uPar.set(ws.u.subarray(0, n * W * Pq), row0 * W * Pq);
  trace.y.set(ws.y.subarray(0, n * W * Mq), row0 * W * Mq);
  trace.alpha.set(ws.alpha.subarray(0, n * W * M), row0 * W * M);
  trace.h.set(ws.h.subarray(0, n * W * q), row0 * W * q);
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
  readonly kernels: CoreWasm;
  readonly maps: CoreMaps;
  readonly rows: number;
  readonly generation: number;
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
  const kernels = coreWasm();
  const c = forwardCache;
  if (c !== undefined && c.maps === maps && c.rows >= rows && c.generation === kernels.generation) return c;
  const { W, q, P, M, Ni, Pq, Mq, C } = s;
  const cp = pad8(C);
  const lay = kernels.layout({
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
    kernels,
    maps,
    rows,
    generation: lay.generation,
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
  corePredictionRows(s, sgParT, sgBias, sgExt, trace, out, 0, trace.rows);
  return out;
}

/**
 * Predictions of rows r0..r1-1 into `out` [R][W][q]. Every row has its own accumulators, so the
 * values do not depend on how the rows are split between threads.
 */
export function corePredictionRows(
  s: CoreSizes,
  sgParT: Float32Array,
  sgBias: Float32Array,
  sgExt: Float32Array | EmbeddingTerm,
  trace: CoreTrace,
  out: Float32Array,
  r0: number,
  r1: number,
): void {
  const { W, q, P, M, Ni, Pq, Mq } = s;
  if (r1 <= r0) return;
  const MqP = pad8(Mq);
  const term = sgExt instanceof Float32Array ? undefined : sgExt;
  const E = term !== undefined ? embeddingWidth(s) : 0;
  const Ep = pad8(E);
  // With embedding rows, the term is e sgEmb computed here ([rows][NMp]); else sgExt rows are copied.
  const extStride = term !== undefined ? pad8(Ni * Mq) : Ni * Mq;
  const kernels = coreWasm();
  const rowsPer = Math.max(1, Math.min(r1 - r0, PREDICTION_CHUNK));
  const lay = kernels.layout({
    f64: [Mq],
    f32: [
      W * Pq * MqP,
      W * Mq,
      rowsPer * W * Pq,
      rowsPer * W * M,
      rowsPer * extStride,
      rowsPer * W * MqP,
      rowsPer * W * q,
      rowsPer * Ep,
      E * extStride,
    ],
  });
  const [w, bias, u, alpha, ext, z, pred, embRows, embMaps] = lay.f32 as F32s<9>;
  padMapsTransposed(sgParT, W, Pq, Mq, MqP, w);
  bias.set(sgBias.subarray(0, W * Mq));
  if (term !== undefined) padMaps(term.maps, 1, E, Ni * Mq, extStride, embMaps);
  for (let c0 = r0; c0 < r1; c0 += rowsPer) {
    const n = Math.min(rowsPer, r1 - c0);
    u.set(trace.uPar.subarray(c0 * W * Pq, (c0 + n) * W * Pq));
    alpha.set(trace.alpha.subarray(c0 * W * M, (c0 + n) * W * M));
    if (term !== undefined) {
      for (let l = 0; l < n; l++) embRows.set(term.emb.subarray((c0 + l) * E, (c0 + l + 1) * E), l * Ep);
      kernels.call(
        "matvec",
        addr(embRows),
        Ep,
        0,
        addr(embMaps),
        E,
        extStride,
        addr(ext),
        extStride,
        0,
        n,
        1,
      );
    } else if (Ni > 0) {
      ext.set((sgExt as Float32Array).subarray(c0 * Ni * Mq, (c0 + n) * Ni * Mq));
    }
    kernels.call(
      "predictions",
      n,
      W,
      q,
      P,
      M,
      Ni,
      addr(u),
      addr(alpha),
      addr(ext),
      extStride,
      addr(bias),
      addr(w),
      MqP,
      addr(z),
      addr(pred),
      addr(lay.f64[0] as Float64Array),
    );
    out.set(pred.subarray(0, n * W * q), c0 * W * q);
  }
}

/** Rows per kernel call of the predictions (bounds the kernel buffers). */
const PREDICTION_CHUNK = 64;

/** Mixing at every H_t: per-step theta [T][W] and the substitute rule. */
export interface CoreMixing {
  readonly theta: ArrayLike<number>;
  readonly positiveProjection: boolean;
  /** [R][W][q] predictions. */
  readonly pred: Float32Array;
}

export interface CoreBackwardResult {
  /** [R][W][q] gradient arriving at H_t (before the mix). */
  readonly trueGrad: Float32Array;
  /** [R][W][q] gradient leaving H_t (after the mix); same array as trueGrad without mixing. */
  readonly mixedGrad: Float32Array;
  /** [R][W][q] substitutes s (mixing only). */
  readonly substitute?: Float32Array;
  /** [W][Pq][C] gradient of the parent-part maps, summed over rows. */
  readonly dwPar: Float64Array;
  /** [W][C] summed pre-activation gradients (b-part in the first Mq columns). */
  readonly dBias: Float64Array;
  /** [R][Ni][C] pre-activation gradients of the input neurons (for their embedding maps). */
  readonly dzIn: Float32Array;
  /** With embedding rows: [Ni][C][E] gradient of the input neurons' embedding maps, summed over rows. */
  readonly dWemb?: Float64Array;
  /** With embedding rows: [R][E] gradient reaching the embedding, dzIn wEmb^T. */
  readonly de?: Float32Array;
}

/**
 * Backpropagation through time over all T steps. `dActor` [R][W][q] is the actor's gradient at
 * every H_t. Going backwards, the gradient at H_t is the actor's term plus what came back from
 * step t+1 (already mixed there); with `mixing` it is replaced by theta g + (1 - theta) s before it
 * continues into step t's maps and, through the parent gathers and the reset, into H_{t-1}.
 */
export function coreBackward(
  s: CoreSizes,
  maps: CoreMaps,
  trace: CoreTrace,
  dActor: Float32Array,
  keep: ArrayLike<number>,
  numSteps: number,
  numEnvs: number,
  mixing?: CoreMixing,
  embedding?: EmbeddingTerm,
): CoreBackwardResult {
  const out = allocBackward(s, numSteps * numEnvs, mixing !== undefined, embedding !== undefined);
  const mid = backwardSplit(numEnvs);
  const half = allocBackwardSums(s);
  coreBackwardEnvs(s, maps, trace, dActor, keep, numSteps, numEnvs, mixing, 0, mid, out, out, embedding);
  coreBackwardEnvs(
    s,
    maps,
    trace,
    dActor,
    keep,
    numSteps,
    numEnvs,
    mixing,
    mid,
    numEnvs,
    out,
    half,
    embedding,
  );
  addBackwardSums(out, half);
  return out;
}

/** Summed parameter gradients of one group of environments. */
export interface BackwardSums {
  readonly dwPar: Float64Array;
  readonly dBias: Float64Array;
  /** [Ni][C][E] (filled only with embedding rows) */
  readonly dWemb: Float64Array;
}

/** Mutable outputs of the backward pass, on shared memory. */
export interface BackwardOutputs extends CoreBackwardResult {
  readonly dwPar: Float64Array;
  readonly dBias: Float64Array;
  readonly dWemb: Float64Array;
}

export function allocBackward(
  s: CoreSizes,
  rows: number,
  mixing: boolean,
  embedding = false,
): BackwardOutputs {
  const { W, q, Ni, C } = s;
  const trueGrad = sharedFloat32(rows * W * q);
  return {
    trueGrad,
    mixedGrad: mixing ? sharedFloat32(rows * W * q) : trueGrad,
    ...(mixing ? { substitute: sharedFloat32(rows * W * q) } : {}),
    dzIn: sharedFloat32(rows * Ni * C),
    ...(embedding ? { de: sharedFloat32(rows * embeddingWidth(s)) } : {}),
    ...allocBackwardSums(s),
  };
}

export function allocBackwardSums(s: CoreSizes): BackwardSums {
  return {
    dwPar: sharedFloat64(s.W * s.Pq * s.C),
    dBias: sharedFloat64(s.W * s.C),
    dWemb: sharedFloat64(s.Ni * s.C * embeddingWidth(s)),
  };
}

/**
 * Environments are independent given the parameters: the backward pass always runs as two fixed
 * groups of environments (0..mid-1, mid..B-1) whose parameter gradients are then added (group 0
 * first), whether one thread or two compute them.
 */
export function backwardSplit(numEnvs: number): number {
  return Math.floor(numEnvs / 2);
}

/** a += b for the summed parameter gradients. */
export function addBackwardSums(a: BackwardSums, b: BackwardSums): void {
  for (let x = 0; x < a.dwPar.length; x++) a.dwPar[x] = (a.dwPar[x] as number) + (b.dwPar[x] as number);
  for (let x = 0; x < a.dBias.length; x++) a.dBias[x] = (a.dBias[x] as number) + (b.dBias[x] as number);
  for (let x = 0; x < a.dWemb.length; x++) a.dWemb[x] = (a.dWemb[x] as number) + (b.dWemb[x] as number);
}

/**
 * The backward pass of environments b0..b1-1: their rows of the per-row outputs in `out`, their
 * parameter-gradient sums added to `sums` (zeroed by the caller).
 */
export function coreBackwardEnvs(
  s: CoreSizes,
  maps: CoreMaps,
  trace: CoreTrace,
  dActor: Float32Array,
  keep: ArrayLike<number>,
  numSteps: number,
  numEnvs: number,
  mixing: CoreMixing | undefined,
  b0: number,
  b1: number,
  out: CoreBackwardResult,
  sums: BackwardSums,
  embedding?: EmbeddingTerm,
): void {
  const { W, q, P, M, Ni, Pq, Mq, C } = s;
  const nb = b1 - b0;
  if (nb <= 0) return;
  const T = numSteps;
  const nRows = T * nb;
  const CP = pad8(C);
  const PqP = pad8(Pq);
  const kernels = coreWasm();
  const mixRows = mixing !== undefined ? nRows : 0;
  const E = embedding !== undefined ? embeddingWidth(s) : 0;
  const Ep = pad8(E);
  // Local rows l = t*nb + (b - b0).
  const lay = kernels.layout({
    f64: [T * W, nb * W * q, nb * W * q, W * C, W * Pq * CP, 2 * q + C + M, Ni * C * Ep],
    f32: [
      nRows,
      nRows * W * q,
      nRows * W * M,
      nRows * W * Mq,
      nRows * W * Pq,
      mixRows * W * q,
      W * C * PqP,
      nRows * W * q,
      mixRows * W * q,
      mixRows * W * q,
      nRows * Ni * C,
      W * nRows * CP,
      nb * W * PqP,
      nRows * Pq,
      nRows * Ep,
      Ni * C * Ep,
      nRows * Ep,
    ],
    i32: [W * P],
  });
  const [theta, carry, next, dBias, dwPar, scratch, dWemb] = lay.f64 as [
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
  ];
  const [
    kKeep,
    kdActor,
    kAlpha,
    kY,
    kU,
    kPred,
    wT,
    kTrue,
    kMixed,
    kSub,
    kDzIn,
    dzAll,
    du,
    uRows,
    kEmb,
    wEmbT,
    kDe,
  ] = lay.f32 as F32s<17>;
  const parentIdx = lay.i32[0] as Int32Array;
  parentIdx.set(maps.parentIdx);
  padMapsTransposed(maps.wPar, W, C, Pq, PqP, wT);
  // Copies the group's rows of step t ([numEnvs][width] blocks) into local row order.
  const copyIn = (src: Float32Array, dst: Float32Array, t: number, width: number) =>
    dst.set(src.subarray((t * numEnvs + b0) * width, (t * numEnvs + b1) * width), t * nb * width);
  for (let t = 0; t < T; t++) {
    for (let b = b0; b < b1; b++) kKeep[t * nb + b - b0] = keep[t * numEnvs + b] as number;
    copyIn(dActor, kdActor, t, W * q);
    copyIn(trace.alpha, kAlpha, t, W * M);
    copyIn(trace.y, kY, t, W * Mq);
    copyIn(trace.uPar, kU, t, W * Pq);
    if (mixing !== undefined) copyIn(mixing.pred, kPred, t, W * q);
    if (embedding !== undefined)
      for (let b = b0; b < b1; b++) {
        const r = t * numEnvs + b;
        kEmb.set(embedding.emb.subarray(r * E, (r + 1) * E), (t * nb + b - b0) * Ep);
      }
  }
  if (embedding !== undefined) padMapsTransposed(embedding.maps, 1, Ni * C, E, Ep, wEmbT);
  if (mixing !== undefined) theta.set(mixing.theta);
  dBias.fill(0);
  kernels.call(
    "backward",
    T,
    nb,
    W,
    q,
    P,
    M,
    Ni,
    addr(parentIdx),
    addr(kKeep),
    addr(kdActor),
    addr(kAlpha),
    addr(kY),
    addr(kU),
    addr(kPred),
    addr(theta),
    mixing !== undefined ? 1 : 0,
    mixing?.positiveProjection === true ? 1 : 0,
    1 / Math.sqrt(s.D),
    addr(wT),
    CP,
    PqP,
    addr(kTrue),
    addr(kMixed),
    addr(kSub),
    addr(kDzIn),
    addr(dzAll),
    addr(du),
    addr(carry),
    addr(next),
    addr(dBias),
    addr(dwPar),
    addr(uRows),
    addr(scratch),
    embedding !== undefined ? 1 : 0,
    addr(kEmb),
    Ep,
    addr(wEmbT),
    addr(dWemb),
    addr(kDe),
  );
  const copyOut = (src: Float32Array, dst: Float32Array, t: number, width: number) =>
    dst.set(src.subarray(t * nb * width, (t + 1) * nb * width), (t * numEnvs + b0) * width);
  for (let t = 0; t < T; t++) {
    copyOut(kTrue, out.trueGrad, t, W * q);
    if (mixing !== undefined) {
      copyOut(kMixed, out.mixedGrad, t, W * q);
      if (out.substitute !== undefined) copyOut(kSub, out.substitute, t, W * q);
    }
    copyOut(kDzIn, out.dzIn, t, Ni * C);
  }
  for (let x = 0; x < W * C; x++) sums.dBias[x] = (sums.dBias[x] as number) + (dBias[x] as number);
  for (let ik = 0; ik < W * Pq; ik++)
    for (let c = 0; c < C; c++)
      sums.dwPar[ik * C + c] = (sums.dwPar[ik * C + c] as number) + (dwPar[ik * CP + c] as number);
  if (embedding !== undefined) {
    for (let ic = 0; ic < Ni * C; ic++)
      for (let e = 0; e < E; e++)
        sums.dWemb[ic * E + e] = (sums.dWemb[ic * E + e] as number) + (dWemb[ic * Ep + e] as number);
    const de = out.de;
    if (de !== undefined)
      for (let t = 0; t < T; t++)
        for (let b = b0; b < b1; b++) {
          const l = t * nb + b - b0;
          de.set(kDe.subarray(l * Ep, l * Ep + E), (t * numEnvs + b) * E);
        }
  }
}

export interface SgLossResult {
  readonly loss: number;
  /** [W][Pq][Mq] */
  readonly dsgPar: Float64Array;
  /** [W][Mq] */
  readonly dsgBias: Float64Array;
  /** [R][Ni][Mq] pre-activation gradients of the input neurons' predictor maps. */
  readonly dzIn: Float32Array;
  /** [Ni][Mq][E] gradient of the input neurons' predictor embedding maps (zeros without embedding rows). */
  readonly dsgEmb: Float64Array;
}

/** Additive part of the SG loss over a range of the valid rows. */
export interface SgLossPartial {
  /** [0]: sum of squared differences. */
  readonly loss: Float64Array;
  /** [W][Pq][Mq] */
  readonly dsgPar: Float64Array;
  /** [W][Mq] */
  readonly dsgBias: Float64Array;
  /** [Ni][Mq][E] */
  readonly dsgEmb: Float64Array;
}

export function allocSgLossPartial(s: CoreSizes): SgLossPartial {
  return {
    loss: sharedFloat64(1),
    dsgPar: sharedFloat64(s.W * s.Pq * s.Mq),
    dsgBias: sharedFloat64(s.W * s.Mq),
    dsgEmb: sharedFloat64(s.Ni * s.Mq * embeddingWidth(s)),
  };
}

/** The valid rows (row indices where valid[r] is nonzero). */
export function validRows(valid: ArrayLike<number>, numRows: number): Int32Array {
  const rows: number[] = [];
  for (let r = 0; r < numRows; r++) if (valid[r]) rows.push(r);
  return Int32Array.from(rows);
}

/**
 * SG regression loss sum over valid rows of ||hhat - mixed||^2 / (N_valid W q), the post-mix
 * target held constant, and its gradient with respect to the predictor maps (u, alpha constant).
 * Summed as two fixed halves of the valid rows (see sgLossParallel in corePool.ts).
 */
export function coreSgLoss(
  s: CoreSizes,
  trace: CoreTrace,
  pred: Float32Array,
  mixed: Float32Array,
  valid: ArrayLike<number>,
  emb?: Float32Array,
): SgLossResult {
  const { rows, n, mid, dzIn, a, b } = sgLossHalves(s, trace, valid);
  coreSgLossPartial(s, trace, pred, mixed, rows, 0, mid, a, dzIn, emb);
  coreSgLossPartial(s, trace, pred, mixed, rows, mid, n, b, dzIn, emb);
  return combineSgLoss(s, n, a, b, dzIn);
}

/** The valid rows, their fixed split point and the buffers both halves of the SG loss write. */
export function sgLossHalves(
  s: CoreSizes,
  trace: CoreTrace,
  valid: ArrayLike<number>,
): {
  readonly rows: Int32Array;
  readonly n: number;
  readonly mid: number;
  readonly dzIn: Float32Array;
  readonly a: SgLossPartial;
  readonly b: SgLossPartial;
} {
  const rows = validRows(valid, trace.rows);
  const n = rows.length;
  return {
    rows,
    n,
    mid: estimatorSplit(n),
    dzIn: sharedFloat32(trace.rows * s.Ni * s.Mq),
    a: allocSgLossPartial(s),
    b: allocSgLossPartial(s),
  };
}

export function combineSgLoss(
  s: CoreSizes,
  n: number,
  a: SgLossPartial,
  b: SgLossPartial,
  dzIn: Float32Array,
): SgLossResult {
  const denom = Math.max(n, 1) * s.W * s.q;
  const dsgPar = new Float64Array(a.dsgPar.length);
  for (let x = 0; x < dsgPar.length; x++) dsgPar[x] = (a.dsgPar[x] as number) + (b.dsgPar[x] as number);
  const dsgBias = new Float64Array(a.dsgBias.length);
  for (let x = 0; x < dsgBias.length; x++) dsgBias[x] = (a.dsgBias[x] as number) + (b.dsgBias[x] as number);
  const dsgEmb = new Float64Array(a.dsgEmb.length);
  for (let x = 0; x < dsgEmb.length; x++) dsgEmb[x] = (a.dsgEmb[x] as number) + (b.dsgEmb[x] as number);
  return { loss: ((a.loss[0] as number) + (b.loss[0] as number)) / denom, dsgPar, dsgBias, dzIn, dsgEmb };
}

/** SG loss sums over rows[lo..hi-1] into `out` (zeroed by the caller) and those rows of dzIn. */
export function coreSgLossPartial(
  s: CoreSizes,
  trace: CoreTrace,
  pred: Float32Array,
  mixed: Float32Array,
  rows: Int32Array,
  lo: number,
  hi: number,
  out: SgLossPartial,
  dzIn: Float32Array,
  emb?: Float32Array,
): void {
  const { W, q, P, M, Ni, Pq, Mq } = s;
  const n = hi - lo;
  if (n <= 0) return;
  const MqP = pad8(Mq);
  const E = emb !== undefined ? embeddingWidth(s) : 0;
  const Ep = pad8(E);
  const kernels = coreWasm();
  const lay = kernels.layout({
    f64: [1, W * Mq, W * Pq * MqP, Ni * Mq * Ep],
    f32: [n * W * q, n * W * q, n * W * M, n * W * Pq, n * MqP, n * Pq, n * Ni * Mq, n * Ep],
  });
  const [loss, dsgBias, dsgPar, dsgEmb] = lay.f64 as [Float64Array, Float64Array, Float64Array, Float64Array];
  const [kPred, kMixed, kAlpha, kU, dz, uRows, kDzIn, kEmb] = lay.f32 as F32s<8>;
  for (let l = 0; l < n; l++) {
    const r = rows[lo + l] as number;
    kPred.set(pred.subarray(r * W * q, (r + 1) * W * q), l * W * q);
    kMixed.set(mixed.subarray(r * W * q, (r + 1) * W * q), l * W * q);
    kAlpha.set(trace.alpha.subarray(r * W * M, (r + 1) * W * M), l * W * M);
    kU.set(trace.uPar.subarray(r * W * Pq, (r + 1) * W * Pq), l * W * Pq);
    if (emb !== undefined) kEmb.set(emb.subarray(r * E, (r + 1) * E), l * Ep);
  }
  loss.fill(0);
  dsgBias.fill(0);
  kernels.call(
    "sg_loss",
    n,
    W,
    q,
    P,
    M,
    Ni,
    addr(kPred),
    addr(kMixed),
    addr(kAlpha),
    addr(kU),
    Math.max(rows.length, 1) * W * q,
    MqP,
    addr(dz),
    addr(uRows),
    addr(loss),
    addr(dsgBias),
    addr(kDzIn),
    addr(dsgPar),
    emb !== undefined ? 1 : 0,
    addr(kEmb),
    Ep,
    addr(dsgEmb),
  );
  out.loss[0] = (out.loss[0] as number) + (loss[0] as number);
  for (let x = 0; x < W * Mq; x++) out.dsgBias[x] = (out.dsgBias[x] as number) + (dsgBias[x] as number);
  for (let ik = 0; ik < W * Pq; ik++)
    for (let c = 0; c < Mq; c++)
      out.dsgPar[ik * Mq + c] = (out.dsgPar[ik * Mq + c] as number) + (dsgPar[ik * MqP + c] as number);
  for (let l = 0; l < n; l++) {
    const r = rows[lo + l] as number;
    dzIn.set(kDzIn.subarray(l * Ni * Mq, (l + 1) * Ni * Mq), r * Ni * Mq);
  }
  for (let ic = 0; ic < Ni * Mq; ic++)
    for (let e = 0; e < E; e++)
      out.dsgEmb[ic * E + e] = (out.dsgEmb[ic * E + e] as number) + (dsgEmb[ic * Ep + e] as number);
}

/** Per-neuron sums of the theta estimator over the valid rows (see thetaEstimator.ts). */
export interface EstimatorSums {
  readonly n: number;
  /** sum_n ||d_n||^2 and sum_n <w_n, d_n> [W] */
  readonly sumDd: Float64Array;
  readonly sumWd: Float64Array;
  /** ||sum_n d_n||^2 and <sum_n w_n, sum_n d_n> over every parameter part (embedding part included) [W] */
  readonly barDd: Float64Array;
  readonly barWd: Float64Array;
}

/** Additive per-neuron sums of eq. 3 over a range of the valid rows. */
export interface EstimatorPartial {
  /** [W] */
  readonly sumDd: Float64Array;
  readonly sumWd: Float64Array;
  /** [W][C][Pq] sums of x_n u_n^T for x = w and x = d (parent part). */
  readonly gw: Float64Array;
  readonly gd: Float64Array;
  /** [W][Mq] sums of the b-parts of w and d. */
  readonly tw: Float64Array;
  readonly td: Float64Array;
  /** [Ni][C][E] sums of x_n e_n^T for the input neurons (embedding part). */
  readonly gwEmb: Float64Array;
  readonly gdEmb: Float64Array;
}

/** Width E of the embedding part of a neuron's input. */
export function embeddingWidth(s: CoreSizes): number {
  return s.D - s.Pq;
}

export function allocEstimatorPartial(s: CoreSizes): EstimatorPartial {
  const { W, C, Pq, Mq, Ni } = s;
  const E = embeddingWidth(s);
  return {
    sumDd: sharedFloat64(W),
    sumWd: sharedFloat64(W),
    gw: sharedFloat64(W * C * Pq),
    gd: sharedFloat64(W * C * Pq),
    tw: sharedFloat64(W * Mq),
    td: sharedFloat64(W * Mq),
    gwEmb: sharedFloat64(Ni * C * E),
    gdEmb: sharedFloat64(Ni * C * E),
  };
}

/**
 * The valid rows are always summed as two fixed halves that are then added (half 0 first), whether
 * one thread or two compute them, so the estimate does not depend on the thread count.
 */
export function estimatorSplit(n: number): number {
  return Math.floor(n / 2);
}

/**
 * Closed-form pieces of eq. 3 for every neuron from the valid rows: with unit-normalised true
 * gradient g and substitute s, the own-parameter gradient of <x, out(u)> has b-part
 * t_s = alpha_s x (1 - y_s^2), A-part t_s u^T and key part k_s u with
 * k_s = alpha_s (<x, y_s> - sum_r alpha_r <x, y_r>) / sqrt(D), where u is the neuron's whole
 * input: its parent part and, for input neurons, the embedding row emb [R][E].
 * Single-threaded; see estimatorSumsParallel in corePool.ts for the two-thread version (same numbers).
 */
export function coreEstimatorSums(
  s: CoreSizes,
  trace: CoreTrace,
  g: Float32Array,
  sub: Float32Array,
  rows: Int32Array,
  emb: Float32Array,
): EstimatorSums {
  const n = rows.length;
  const mid = estimatorSplit(n);
  const { a, b } = estimatorHalves(s);
  coreEstimatorPartial(s, trace, g, sub, rows, emb, 0, mid, a);
  coreEstimatorPartial(s, trace, g, sub, rows, emb, mid, n, b);
  return combineEstimatorPartials(s, n, a, b);
}

/** The partial sums both halves of the estimator write (shared memory, zeroed). */
export function estimatorHalves(s: CoreSizes): {
  readonly a: EstimatorPartial;
  readonly b: EstimatorPartial;
} {
  return { a: allocEstimatorPartial(s), b: allocEstimatorPartial(s) };
}

/** Adds two partials (a first) and forms the squared norms of the summed gradients. */
export function combineEstimatorPartials(
  s: CoreSizes,
  n: number,
  a: EstimatorPartial,
  b: EstimatorPartial,
): EstimatorSums {
  const { W, C, Pq, Mq, Ni } = s;
  const E = embeddingWidth(s);
  const sumDd = new Float64Array(W);
  const sumWd = new Float64Array(W);
  const barDd = new Float64Array(W);
  const barWd = new Float64Array(W);
  for (let i = 0; i < W; i++) {
    sumDd[i] = (a.sumDd[i] as number) + (b.sumDd[i] as number);
    sumWd[i] = (a.sumWd[i] as number) + (b.sumWd[i] as number);
    let dd = 0;
    let wd = 0;
    for (let x = i * C * Pq; x < (i + 1) * C * Pq; x++) {
      const gd = (a.gd[x] as number) + (b.gd[x] as number);
      const gw = (a.gw[x] as number) + (b.gw[x] as number);
      dd += gd * gd;
      wd += gw * gd;
    }
    for (let c = i * Mq; c < (i + 1) * Mq; c++) {
      const td = (a.td[c] as number) + (b.td[c] as number);
      const tw = (a.tw[c] as number) + (b.tw[c] as number);
      dd += td * td;
      wd += tw * td;
    }
    if (i < Ni) {
      for (let x = i * C * E; x < (i + 1) * C * E; x++) {
        const gd = (a.gdEmb[x] as number) + (b.gdEmb[x] as number);
        const gw = (a.gwEmb[x] as number) + (b.gwEmb[x] as number);
        dd += gd * gd;
        wd += gw * gd;
      }
    }
    barDd[i] = dd;
    barWd[i] = wd;
  }
  return { n, sumDd, sumWd, barDd, barWd };
}

/** Sums of eq. 3 over the valid rows rows[lo..hi-1] into `out` (zeroed by the caller). */
export function coreEstimatorPartial(
  s: CoreSizes,
  trace: CoreTrace,
  g: Float32Array,
  sub: Float32Array,
  rows: Int32Array,
  emb: Float32Array,
  lo: number,
  hi: number,
  out: EstimatorPartial,
): void {
  const { W, q, P, M, Ni, Pq, Mq, C } = s;
  const n = hi - lo;
  if (n <= 0) return;
  const E = embeddingWidth(s);
  const Ep = pad8(E);
  const PqP = pad8(Pq);
  const kernels = coreWasm();
  const lay = kernels.layout({
    f64: [2 * W, W * Mq, W * Mq, W * C * PqP, W * C * PqP, Ni * C * Ep, Ni * C * Ep, 2 * q + 2 * C + n],
    f32: [
      n * W * q,
      n * W * q,
      n * W * M,
      n * W * Mq,
      n * W * Pq,
      n * Ep,
      n * C,
      n * C,
      n * PqP,
      n * Ni * C,
      n * Ni * C,
    ],
  });
  const [sums, tw, td, gw, gd, gwEmb, gdEmb, scratch] = lay.f64 as [
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
  ];
  const [kG, kSub, kAlpha, kY, kU, kEmb, xw, xd, uRows, kXwIn, kXdIn] = lay.f32 as F32s<11>;
  for (let l = 0; l < n; l++) {
    const r = rows[lo + l] as number;
    kG.set(g.subarray(r * W * q, (r + 1) * W * q), l * W * q);
    kSub.set(sub.subarray(r * W * q, (r + 1) * W * q), l * W * q);
    kAlpha.set(trace.alpha.subarray(r * W * M, (r + 1) * W * M), l * W * M);
    kY.set(trace.y.subarray(r * W * Mq, (r + 1) * W * Mq), l * W * Mq);
    kU.set(trace.uPar.subarray(r * W * Pq, (r + 1) * W * Pq), l * W * Pq);
    kEmb.set(emb.subarray(r * E, (r + 1) * E), l * Ep);
  }
  sums.fill(0);
  tw.fill(0);
  td.fill(0);
  kernels.call(
    "estimator",
    n,
    W,
    q,
    P,
    M,
    Ni,
    addr(kG),
    addr(kSub),
    addr(kAlpha),
    addr(kY),
    addr(kU),
    addr(kEmb),
    E,
    Ep,
    1 / Math.sqrt(s.D),
    PqP,
    addr(xw),
    addr(xd),
    addr(uRows),
    addr(sums),
    addr(tw),
    addr(td),
    addr(gw),
    addr(gd),
    addr(kXwIn),
    addr(kXdIn),
    addr(gwEmb),
    addr(gdEmb),
    addr(scratch),
  );
  for (let i = 0; i < W; i++) {
    out.sumDd[i] = (out.sumDd[i] as number) + (sums[2 * i] as number);
    out.sumWd[i] = (out.sumWd[i] as number) + (sums[2 * i + 1] as number);
  }
  for (let x = 0; x < W * Mq; x++) {
    out.tw[x] = (out.tw[x] as number) + (tw[x] as number);
    out.td[x] = (out.td[x] as number) + (td[x] as number);
  }
  for (let ic = 0; ic < W * C; ic++)
    for (let k = 0; k < Pq; k++) {
      out.gw[ic * Pq + k] = (out.gw[ic * Pq + k] as number) + (gw[ic * PqP + k] as number);
      out.gd[ic * Pq + k] = (out.gd[ic * Pq + k] as number) + (gd[ic * PqP + k] as number);
    }
  for (let ic = 0; ic < Ni * C; ic++)
    for (let e = 0; e < E; e++) {
      out.gwEmb[ic * E + e] = (out.gwEmb[ic * E + e] as number) + (gwEmb[ic * Ep + e] as number);
      out.gdEmb[ic * E + e] = (out.gdEmb[ic * E + e] as number) + (gdEmb[ic * Ep + e] as number);
    }
}
