/**
 * The recurrent SparseNet's neuron core in plain typed-array loops.
 *
 * Why not tfjs ops: each neuron multiplies a P*q-long input by its own [P*q, M*q+M] map, i.e. W
 * tiny independent matmuls per step. tfjs runs those as a batched matmul that is ~10x slower per
 * FLOP than a plain loop here (wasm backend, 2 cores), and a step needs several such ops forward
 * and backward, 80 times. The loops below keep each neuron's map hot in cache and fuse gather,
 * affine map, tanh, softmax and the slot mixture (forward), and the mix, slot backward, input
 * gradient and parent scatter (backward). The embedding part of the input neurons, shared by all
 * neurons of a row, stays a single large tfjs matmul over all steps.
 *
 * Layouts (row r = t*B + b): states [R][W][q] (so a row is flatten(H_t), index i*q + j), parent
 * inputs [R][W][Pq], routing [R][W][M], slot outputs [R][W][M*q]; maps [W][Pq][C] with columns
 * s*q+j (slot outputs) then M routing scores.
 */

import { type CoreWasm, coreWasm, pad8 } from "./wasmCore.js";

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
  /** The same maps as [W][C][Pq] (dot-product order for the forward pass). */
  readonly wParT: Float32Array;
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
  const invSqrtD = 1 / Math.sqrt(s.D);
  const z = new Float64Array(C);
  const { bias, parentIdx } = maps;
  const { uPar, alpha, y, h } = trace;
  const ws = forwardWorkspace(s, maps, numRows);
  const CP = ws.cp;
  // Parent inputs of every neuron of these rows (the reset zeroes a row's previous state).
  for (let b = 0; b < numRows; b++) {
    const kb = keep[b] as number;
    const hp = hPrevOffset + b * W * q;
    for (let i = 0; i < W; i++) {
      const uo = ((row0 + b) * W + i) * Pq;
      for (let p = 0; p < P; p++) {
        const src = hp + (parentIdx[i * P + p] as number) * q;
        for (let j = 0; j < q; j++) uPar[uo + p * q + j] = kb * (hPrev[src + j] as number);
      }
    }
  }
  ws.u.set(uPar.subarray(row0 * W * Pq, (row0 + numRows) * W * Pq));
  ws.kernels.matvec(ws.u, 0, W * Pq, Pq, ws.w, Pq, CP, ws.z, 0, W * CP, CP, numRows, W);
  const zPar = ws.z;
  for (let b = 0; b < numRows; b++) {
    const r = row0 + b;
    for (let i = 0; i < W; i++) {
      const zo = (b * W + i) * CP;
      if (i < Ni) {
        const eo = extOffset + (b * Ni + i) * C;
        for (let c = 0; c < C; c++)
          z[c] = (bias[i * C + c] as number) + (ext[eo + c] as number) + (zPar[zo + c] as number);
      } else {
        for (let c = 0; c < C; c++) z[c] = (bias[i * C + c] as number) + (zPar[zo + c] as number);
      }
      const yo = (r * W + i) * Mq;
      for (let c = 0; c < Mq; c++) y[yo + c] = Math.tanh(z[c] as number);
      let max = Number.NEGATIVE_INFINITY;
      for (let m = 0; m < M; m++) max = Math.max(max, (z[Mq + m] as number) * invSqrtD);
      let total = 0;
      const ao = (r * W + i) * M;
      for (let m = 0; m < M; m++) {
        const e = Math.exp((z[Mq + m] as number) * invSqrtD - max);
        alpha[ao + m] = e;
        total += e;
      }
      for (let m = 0; m < M; m++) alpha[ao + m] = (alpha[ao + m] as number) / total;
      const ho = (r * W + i) * q;
      for (let j = 0; j < q; j++) {
        let acc = 0;
        for (let m = 0; m < M; m++) acc += (alpha[ao + m] as number) * (y[yo + m * q + j] as number);
        h[ho + j] = acc;
      }
    }
  }
}

/** [W][len][cols] maps as [W][len][cp] with zero columns cols..cp-1. */
function padMaps(w: Float32Array, W: number, len: number, cols: number, cp: number, out: Float32Array): void {
  for (let i = 0; i < W; i++)
    for (let k = 0; k < len; k++) {
      const src = (i * len + k) * cols;
      out.set(w.subarray(src, src + cols), (i * len + k) * cp);
    }
}

/** [W][cols][len] maps as [W][len][cp] (transposed, zero columns cols..cp-1). */
function padMapsTransposed(
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

interface ForwardWorkspace {
  readonly kernels: CoreWasm;
  readonly maps: CoreMaps;
  readonly rows: number;
  readonly generation: number;
  readonly cp: number;
  /** [W][Pq][cp] parent-part maps */
  readonly w: Float32Array;
  /** [rows][W][Pq] parent inputs, [rows][W][cp] their products with the maps */
  readonly u: Float32Array;
  readonly z: Float32Array;
}

let forwardCache: ForwardWorkspace | undefined;

/** The forward step's kernel buffers, kept across the steps of a rollout (same maps). */
function forwardWorkspace(s: CoreSizes, maps: CoreMaps, rows: number): ForwardWorkspace {
  const kernels = coreWasm();
  const c = forwardCache;
  if (c !== undefined && c.maps === maps && c.rows >= rows && c.generation === kernels.generation) return c;
  const cp = pad8(s.C);
  const lay = kernels.layout([], [s.W * s.Pq * cp, rows * s.W * s.Pq, rows * s.W * cp]);
  const [w, u, z] = lay.f32 as [Float32Array, Float32Array, Float32Array];
  padMaps(maps.wPar, s.W, s.Pq, s.C, cp, w);
  forwardCache = { kernels, maps, rows, generation: lay.generation, cp, w, u, z };
  return forwardCache;
}

/** Neuron i's parent inputs of rows[lo..lo+len-1] as [len][stride] (first Pq entries of each row). */
function gatherNeuronRows(
  uPar: Float32Array,
  rows: Int32Array,
  lo: number,
  len: number,
  W: number,
  i: number,
  Pq: number,
  out: Float32Array,
  stride = Pq,
): void {
  for (let l = 0; l < len; l++) {
    const src = ((rows[lo + l] as number) * W + i) * Pq;
    const dst = l * stride;
    for (let k = 0; k < Pq; k++) out[dst + k] = uPar[src + k] as number;
  }
}

/** SG predictions hhat = sum_s alpha_s (Atilde_s u + btilde_s) for every row of a trace: [R][W][q]. */
export function corePredictions(
  s: CoreSizes,
  sgParT: Float32Array,
  sgBias: Float32Array,
  sgExt: Float32Array,
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
  sgExt: Float32Array,
  trace: CoreTrace,
  out: Float32Array,
  r0: number,
  r1: number,
): void {
  const { W, q, M, Ni, Pq, Mq } = s;
  const MqP = pad8(Mq);
  const kernels = coreWasm();
  const rowsPer = Math.max(1, Math.min(r1 - r0, PREDICTION_CHUNK));
  const lay = kernels.layout([], [W * Pq * MqP, rowsPer * W * Pq, rowsPer * W * MqP]);
  const [w, u, zPar] = lay.f32 as [Float32Array, Float32Array, Float32Array];
  padMapsTransposed(sgParT, W, Pq, Mq, MqP, w);
  const z = new Float64Array(Mq);
  for (let c0 = r0; c0 < r1; c0 += rowsPer) {
    const n = Math.min(rowsPer, r1 - c0);
    u.set(trace.uPar.subarray(c0 * W * Pq, (c0 + n) * W * Pq));
    kernels.matvec(u, 0, W * Pq, Pq, w, Pq, MqP, zPar, 0, W * MqP, MqP, n, W);
    for (let l = 0; l < n; l++) {
      const r = c0 + l;
      for (let i = 0; i < W; i++) {
        const zo = (l * W + i) * MqP;
        if (i < Ni) {
          const eo = (r * Ni + i) * Mq;
          for (let c = 0; c < Mq; c++)
            z[c] = (sgBias[i * Mq + c] as number) + (sgExt[eo + c] as number) + (zPar[zo + c] as number);
        } else {
          for (let c = 0; c < Mq; c++) z[c] = (sgBias[i * Mq + c] as number) + (zPar[zo + c] as number);
        }
        const ao = (r * W + i) * M;
        const ho = (r * W + i) * q;
        for (let j = 0; j < q; j++) {
          let acc = 0;
          for (let m = 0; m < M; m++) acc += (trace.alpha[ao + m] as number) * (z[m * q + j] as number);
          out[ho + j] = acc;
        }
      }
    }
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
): CoreBackwardResult {
  const out = allocBackward(s, numSteps * numEnvs, mixing !== undefined);
  const mid = backwardSplit(numEnvs);
  const half = allocBackwardSums(s);
  coreBackwardEnvs(s, maps, trace, dActor, keep, numSteps, numEnvs, mixing, 0, mid, out, out);
  coreBackwardEnvs(s, maps, trace, dActor, keep, numSteps, numEnvs, mixing, mid, numEnvs, out, half);
  addBackwardSums(out, half);
  return out;
}

/** Summed parameter gradients of one group of environments. */
export interface BackwardSums {
  readonly dwPar: Float64Array;
  readonly dBias: Float64Array;
}

/** Mutable outputs of the backward pass, on shared memory. */
export interface BackwardOutputs extends CoreBackwardResult {
  readonly dwPar: Float64Array;
  readonly dBias: Float64Array;
}

export function allocBackward(s: CoreSizes, rows: number, mixing: boolean): BackwardOutputs {
  const { W, q, Ni, C } = s;
  const trueGrad = sharedFloat32(rows * W * q);
  return {
    trueGrad,
    mixedGrad: mixing ? sharedFloat32(rows * W * q) : trueGrad,
    ...(mixing ? { substitute: sharedFloat32(rows * W * q) } : {}),
    dzIn: sharedFloat32(rows * Ni * C),
    ...allocBackwardSums(s),
  };
}

export function allocBackwardSums(s: CoreSizes): BackwardSums {
  return { dwPar: sharedFloat64(s.W * s.Pq * s.C), dBias: sharedFloat64(s.W * s.C) };
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
): void {
  const { W, q, P, M, Ni, Pq, Mq, C } = s;
  const invSqrtD = 1 / Math.sqrt(s.D);
  const { trueGrad, mixedGrad, substitute, dzIn } = out;
  const { dwPar, dBias } = sums;
  const nb = b1 - b0;
  let carry = new Float64Array(numEnvs * W * q);
  let next = new Float64Array(numEnvs * W * q);
  const g = new Float64Array(q);
  const mixed = new Float64Array(q);
  const dzc = new Float64Array(C);
  const dAlpha = new Float64Array(M);
  const { wPar, parentIdx } = maps;
  // Kernel buffers: every row's pre-activation gradients [W][nRows][CP] (row l = t*nb + b - b0),
  // the transposed maps [W][C][PqP], one step's input gradients [nb][W][PqP], one neuron's
  // parent inputs [nRows][Pq] and its map gradient [Pq][CP].
  const nRows = numSteps * nb;
  const CP = pad8(C);
  const PqP = pad8(Pq);
  const kernels = coreWasm();
  const lay = kernels.layout([Pq * CP], [W * nRows * CP, W * C * PqP, nb * W * PqP, nRows * Pq]);
  const gTile = lay.f64[0] as Float64Array;
  const [dzAll, wT, duAll, uRows] = lay.f32 as [Float32Array, Float32Array, Float32Array, Float32Array];
  padMapsTransposed(wPar, W, C, Pq, PqP, wT);
  for (let t = numSteps - 1; t >= 0; t--) {
    next.fill(0);
    for (let i = 0; i < W; i++) {
      for (let b = b0; b < b1; b++) {
        const r = t * numEnvs + b;
        const ho = (r * W + i) * q;
        const co = (b * W + i) * q;
        for (let j = 0; j < q; j++) {
          g[j] = (dActor[ho + j] as number) + (carry[co + j] as number);
          trueGrad[ho + j] = g[j] as number;
        }
        if (mixing !== undefined && substitute !== undefined) {
          const th = mixing.theta[t * W + i] as number;
          let coef = 1;
          if (mixing.positiveProjection) {
            let dot = 0;
            let sq = 0;
            for (let j = 0; j < q; j++) {
              const pj = mixing.pred[ho + j] as number;
              dot += (g[j] as number) * pj;
              sq += pj * pj;
            }
            coef = Math.max(dot, 0) / Math.max(sq, 1e-12);
          }
          for (let j = 0; j < q; j++) {
            const sj = coef * (mixing.pred[ho + j] as number);
            substitute[ho + j] = sj;
            mixed[j] = th * (g[j] as number) + (1 - th) * sj;
            mixedGrad[ho + j] = mixed[j] as number;
          }
        } else {
          for (let j = 0; j < q; j++) mixed[j] = g[j] as number;
        }
        // Slot backward: dz = alpha_s m (1 - y^2); routing scores via the softmax Jacobian.
        const ao = (r * W + i) * M;
        const yo = (r * W + i) * Mq;
        let weighted = 0;
        for (let m = 0; m < M; m++) {
          const a = trace.alpha[ao + m] as number;
          let da = 0;
          for (let j = 0; j < q; j++) {
            const yv = trace.y[yo + m * q + j] as number;
            da += (mixed[j] as number) * yv;
            dzc[m * q + j] = a * (mixed[j] as number) * (1 - yv * yv);
          }
          dAlpha[m] = da;
          weighted += a * da;
        }
        for (let m = 0; m < M; m++) {
          dzc[Mq + m] = (trace.alpha[ao + m] as number) * ((dAlpha[m] as number) - weighted) * invSqrtD;
        }
        for (let c = 0; c < C; c++) dBias[i * C + c] = (dBias[i * C + c] as number) + (dzc[c] as number);
        if (i < Ni) {
          const zo = (r * Ni + i) * C;
          for (let c = 0; c < C; c++) dzIn[zo + c] = dzc[c] as number;
        }
        const dzo = (i * nRows + t * nb + b - b0) * CP;
        for (let c = 0; c < C; c++) dzAll[dzo + c] = dzc[c] as number;
      }
    }
    // Input gradients du = W dzc of every neuron, then the adjoint of the gather and of the reset
    // multiplication at step t (neuron by neuron, environments in order).
    if (t > 0) {
      kernels.matvec(dzAll, t * nb * CP, CP, nRows * CP, wT, C, PqP, duAll, 0, W * PqP, PqP, nb, W);
      for (let i = 0; i < W; i++) {
        for (let b = b0; b < b1; b++) {
          const kb = keep[t * numEnvs + b] as number;
          if (kb === 0) continue;
          const duo = ((b - b0) * W + i) * PqP;
          for (let p = 0; p < P; p++) {
            const dst = (b * W + (parentIdx[i * P + p] as number)) * q;
            for (let j = 0; j < q; j++)
              next[dst + j] = (next[dst + j] as number) + kb * (duAll[duo + p * q + j] as number);
          }
        }
      }
    }
    const tmp = carry;
    carry = next;
    next = tmp;
  }
  // dwPar[i] += sum over this group's rows of u_r dz_r^T.
  for (let i = 0; i < W; i++) {
    for (let t = 0; t < numSteps; t++)
      for (let b = b0; b < b1; b++) {
        const src = ((t * numEnvs + b) * W + i) * Pq;
        uRows.set(trace.uPar.subarray(src, src + Pq), (t * nb + b - b0) * Pq);
      }
    gTile.fill(0);
    kernels.outerAcc(uRows, dzAll, i * nRows * CP, gTile, nRows, Pq, CP);
    for (let k = 0; k < Pq; k++)
      for (let c = 0; c < C; c++)
        dwPar[(i * Pq + k) * C + c] = (dwPar[(i * Pq + k) * C + c] as number) + (gTile[k * CP + c] as number);
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
}

/** Additive part of the SG loss over a range of the valid rows. */
export interface SgLossPartial {
  /** [0]: sum of squared differences. */
  readonly loss: Float64Array;
  /** [W][Pq][Mq] */
  readonly dsgPar: Float64Array;
  /** [W][Mq] */
  readonly dsgBias: Float64Array;
}

export function allocSgLossPartial(s: CoreSizes): SgLossPartial {
  return {
    loss: sharedFloat64(1),
    dsgPar: sharedFloat64(s.W * s.Pq * s.Mq),
    dsgBias: sharedFloat64(s.W * s.Mq),
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
): SgLossResult {
  const { rows, n, mid, dzIn, a, b } = sgLossHalves(s, trace, valid);
  coreSgLossPartial(s, trace, pred, mixed, rows, 0, mid, a, dzIn);
  coreSgLossPartial(s, trace, pred, mixed, rows, mid, n, b, dzIn);
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
  return { loss: ((a.loss[0] as number) + (b.loss[0] as number)) / denom, dsgPar, dsgBias, dzIn };
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
): void {
  const { W, q, M, Ni, Pq, Mq } = s;
  const denom = Math.max(rows.length, 1) * W * q;
  const { dsgPar, dsgBias } = out;
  const len = hi - lo;
  const MqP = pad8(Mq);
  const kernels = coreWasm();
  // Pre-activation gradients of one neuron for these rows, dz[l][s*q+j] = alpha_s dpred_j
  // ([len][MqP]), its parent inputs [len][Pq] and its map gradient [Pq][MqP].
  const lay = kernels.layout([Pq * MqP], [len * MqP, len * Pq]);
  const gTile = lay.f64[0] as Float64Array;
  const [dz, uRows] = lay.f32 as [Float32Array, Float32Array];
  let loss = 0;
  for (let i = 0; i < W; i++) {
    for (let l = 0; l < len; l++) {
      const r = rows[lo + l] as number;
      const ho = (r * W + i) * q;
      const ao = (r * W + i) * M;
      for (let j = 0; j < q; j++) {
        const diff = (pred[ho + j] as number) - (mixed[ho + j] as number);
        loss += diff * diff;
        const dp = (2 * diff) / denom;
        for (let m = 0; m < M; m++) dz[l * MqP + m * q + j] = (trace.alpha[ao + m] as number) * dp;
      }
      for (let c = 0; c < Mq; c++)
        dsgBias[i * Mq + c] = (dsgBias[i * Mq + c] as number) + (dz[l * MqP + c] as number);
      if (i < Ni) for (let c = 0; c < Mq; c++) dzIn[(r * Ni + i) * Mq + c] = dz[l * MqP + c] as number;
    }
    // dsgPar[i][k][c] = sum_l u_l[k] dz_l[c]
    gatherNeuronRows(trace.uPar, rows, lo, len, W, i, Pq, uRows);
    gTile.fill(0);
    kernels.outerAcc(uRows, dz, 0, gTile, len, Pq, MqP);
    for (let k = 0; k < Pq; k++)
      for (let c = 0; c < Mq; c++)
        dsgPar[(i * Pq + k) * Mq + c] =
          (dsgPar[(i * Pq + k) * Mq + c] as number) + (gTile[k * MqP + c] as number);
  }
  out.loss[0] = (out.loss[0] as number) + loss;
}

/** Per-neuron sums of the theta estimator over the valid rows (see thetaEstimator.ts). */
export interface EstimatorSums {
  readonly n: number;
  /** sum_n ||d_n||^2 and sum_n <w_n, d_n> [W] */
  readonly sumDd: Float64Array;
  readonly sumWd: Float64Array;
  /** ||sum_n d_n||^2 and <sum_n w_n, sum_n d_n> over the parent-input and bias parts [W] */
  readonly barDd: Float64Array;
  readonly barWd: Float64Array;
  /** Factors of the input neurons for their embedding part: [N][Ni][C] for w and d. */
  readonly xwIn: Float32Array;
  readonly xdIn: Float32Array;
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
}

export function allocEstimatorPartial(s: CoreSizes): EstimatorPartial {
  const { W, C, Pq, Mq } = s;
  return {
    sumDd: sharedFloat64(W),
    sumWd: sharedFloat64(W),
    gw: sharedFloat64(W * C * Pq),
    gd: sharedFloat64(W * C * Pq),
    tw: sharedFloat64(W * Mq),
    td: sharedFloat64(W * Mq),
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
 * k_s = alpha_s (<x, y_s> - sum_r alpha_r <x, y_r>) / sqrt(D).
 * Single-threaded; see estimatorSumsParallel in corePool.ts for the two-thread version (same numbers).
 */
export function coreEstimatorSums(
  s: CoreSizes,
  trace: CoreTrace,
  g: Float32Array,
  sub: Float32Array,
  rows: Int32Array,
  embNormSq: Float32Array,
): EstimatorSums {
  const n = rows.length;
  const mid = estimatorSplit(n);
  const { xwIn, xdIn, a, b } = estimatorHalves(s, n, (length) => new Float32Array(length));
  coreEstimatorPartial(s, trace, g, sub, rows, embNormSq, 0, mid, a, xwIn, xdIn);
  coreEstimatorPartial(s, trace, g, sub, rows, embNormSq, mid, n, b, xwIn, xdIn);
  return combineEstimatorPartials(s, n, a, b, xwIn, xdIn);
}

/**
 * The buffers both halves of the estimator write; `alloc` gives the per-row inputs shared memory
 * when a worker computes one half.
 */
export function estimatorHalves(
  s: CoreSizes,
  n: number,
  alloc: (length: number) => Float32Array,
): {
  readonly xwIn: Float32Array;
  readonly xdIn: Float32Array;
  readonly a: EstimatorPartial;
  readonly b: EstimatorPartial;
} {
  return {
    xwIn: alloc(n * s.Ni * s.C),
    xdIn: alloc(n * s.Ni * s.C),
    a: allocEstimatorPartial(s),
    b: allocEstimatorPartial(s),
  };
}

/** Adds two partials (a first) and forms the squared norms of the summed gradients. */
export function combineEstimatorPartials(
  s: CoreSizes,
  n: number,
  a: EstimatorPartial,
  b: EstimatorPartial,
  xwIn: Float32Array,
  xdIn: Float32Array,
): EstimatorSums {
  const { W, C, Pq, Mq } = s;
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
    barDd[i] = dd;
    barWd[i] = wd;
  }
  return { n, sumDd, sumWd, barDd, barWd, xwIn, xdIn };
}

/**
 * Sums of eq. 3 over the valid rows rows[lo..hi-1] into `out` (zeroed by the caller); the input
 * neurons' factors of those rows go to xwIn / xdIn [n][Ni][C].
 */
export function coreEstimatorPartial(
  s: CoreSizes,
  trace: CoreTrace,
  g: Float32Array,
  sub: Float32Array,
  rows: Int32Array,
  embNormSq: Float32Array,
  lo: number,
  hi: number,
  out: EstimatorPartial,
  xwIn: Float32Array,
  xdIn: Float32Array,
): void {
  const { W, q, M, Ni, Pq, Mq, C } = s;
  const invSqrtD = 1 / Math.sqrt(s.D);
  const { sumDd, sumWd, gw, gd, tw, td } = out;
  const xw = new Float64Array(C);
  const xs = new Float64Array(C);
  const gh = new Float64Array(q);
  const sh = new Float64Array(q);
  const factors = (x: Float64Array, f: Float64Array, ao: number, yo: number) => {
    let weighted = 0;
    for (let m = 0; m < M; m++) {
      const a = trace.alpha[ao + m] as number;
      let xy = 0;
      for (let j = 0; j < q; j++) {
        const yv = trace.y[yo + m * q + j] as number;
        xy += (x[j] as number) * yv;
        f[m * q + j] = a * (x[j] as number) * (1 - yv * yv);
      }
      f[Mq + m] = xy;
      weighted += a * xy;
    }
    for (let m = 0; m < M; m++)
      f[Mq + m] = (trace.alpha[ao + m] as number) * ((f[Mq + m] as number) - weighted) * invSqrtD;
  };
  const len = hi - lo;
  const PqP = pad8(Pq);
  const kernels = coreWasm();
  // One neuron's factors [len][C] for w and d, its parent inputs [len][PqP], and the outer
  // product sums [C][PqP] for w and d.
  const lay = kernels.layout([C * PqP, C * PqP], [len * C, len * C, len * PqP]);
  const [gwTile, gdTile] = lay.f64 as [Float64Array, Float64Array];
  const [xwAll, xdAll, uRows] = lay.f32 as [Float32Array, Float32Array, Float32Array];
  for (let i = 0; i < W; i++) {
    for (let l = 0; l < len; l++) {
      const nn = lo + l;
      const r = rows[nn] as number;
      const ho = (r * W + i) * q;
      let ng = 0;
      let ns = 0;
      for (let j = 0; j < q; j++) {
        ng += (g[ho + j] as number) ** 2;
        ns += (sub[ho + j] as number) ** 2;
      }
      ng = Math.max(Math.sqrt(ng), 1e-12);
      ns = Math.max(Math.sqrt(ns), 1e-12);
      for (let j = 0; j < q; j++) {
        gh[j] = (g[ho + j] as number) / ng;
        sh[j] = (sub[ho + j] as number) / ns;
      }
      const ao = (r * W + i) * M;
      const yo = (r * W + i) * Mq;
      factors(gh, xw, ao, yo);
      factors(sh, xs, ao, yo);
      const uo = (r * W + i) * Pq;
      let uSq = i < Ni ? (embNormSq[r] as number) : 0;
      for (let k = 0; k < Pq; k++) uSq += (trace.uPar[uo + k] as number) ** 2;
      let dd = 0;
      let wd = 0;
      let ddB = 0;
      let wdB = 0;
      for (let c = 0; c < C; c++) {
        const w = xw[c] as number;
        const d = (xs[c] as number) - w;
        xwAll[l * C + c] = w;
        xdAll[l * C + c] = d;
        dd += d * d;
        wd += w * d;
        if (c < Mq) {
          ddB += d * d;
          wdB += w * d;
          tw[i * Mq + c] = (tw[i * Mq + c] as number) + w;
          td[i * Mq + c] = (td[i * Mq + c] as number) + d;
        }
      }
      sumDd[i] = (sumDd[i] as number) + dd * uSq + ddB;
      sumWd[i] = (sumWd[i] as number) + wd * uSq + wdB;
      if (i < Ni) {
        const xo = (nn * Ni + i) * C;
        for (let c = 0; c < C; c++) {
          xwIn[xo + c] = xwAll[l * C + c] as number;
          xdIn[xo + c] = xdAll[l * C + c] as number;
        }
      }
    }
    // Sums over rows of the outer products x_n u_n^T (parent part).
    gatherNeuronRows(trace.uPar, rows, lo, len, W, i, Pq, uRows, PqP);
    gwTile.fill(0);
    gdTile.fill(0);
    kernels.outerAcc(xwAll, uRows, 0, gwTile, len, C, PqP);
    kernels.outerAcc(xdAll, uRows, 0, gdTile, len, C, PqP);
    const go = i * C * Pq;
    for (let c = 0; c < C; c++)
      for (let k = 0; k < Pq; k++) {
        gw[go + c * Pq + k] = (gw[go + c * Pq + k] as number) + (gwTile[c * PqP + k] as number);
        gd[go + c * Pq + k] = (gd[go + c * Pq + k] as number) + (gdTile[c * PqP + k] as number);
      }
  }
}
