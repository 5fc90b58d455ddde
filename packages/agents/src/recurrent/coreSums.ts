/**
 * The SG regression loss and the eq. 3 sums of the recurrent SparseNet's neuron core on the
 * kernels (coreSgLoss.c, coreEstimator.c): each summed as two fixed halves of the valid rows whose
 * partial sums are added in a fixed order, half 0 first (see sparseCore.ts).
 */
import { addr, allocLayout, estimatorTask, pad8, sgLossTask } from "@sgprop/kernels";
import {
  type CoreHalf,
  type CoreSizes,
  type CoreTrace,
  embeddingWidth,
  type F32s,
  sharedFloat32,
  sharedFloat64,
  startCoreHalves,
  validRows,
} from "./sparseCore.js";

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

/**
 * SG regression loss sum over valid rows of ||hhat - mixed||^2 / (N_valid W q), the post-mix
 * target held constant, and its gradient with respect to the predictor maps (u, alpha constant).
 * Summed as two fixed halves of the valid rows (on two threads when `parallel`; see corePool.ts).
 */
export function coreSgLoss(
  s: CoreSizes,
  trace: CoreTrace,
  pred: Float32Array,
  mixed: Float32Array,
  valid: ArrayLike<number>,
  emb?: Float32Array,
): SgLossResult {
  return startSgLossHalves(s, trace, pred, mixed, valid, emb, false)();
}

/** Starts coreSgLoss's two halves; the returned function completes and combines them. */
export function startSgLossHalves(
  s: CoreSizes,
  trace: CoreTrace,
  pred: Float32Array,
  mixed: Float32Array,
  valid: ArrayLike<number>,
  emb: Float32Array | undefined,
  parallel: boolean,
): () => SgLossResult {
  const rows = validRows(valid, trace.rows);
  const n = rows.length;
  const mid = estimatorSplit(n);
  const dzIn = sharedFloat32(trace.rows * s.Ni * s.Mq);
  const a = allocSgLossPartial(s);
  const b = allocSgLossPartial(s);
  const finish = startCoreHalves(
    "sg_loss_halves",
    [
      () => sgLossHalf(s, trace, pred, mixed, rows, 0, mid, a, dzIn, emb),
      () => sgLossHalf(s, trace, pred, mixed, rows, mid, n, b, dzIn, emb),
    ],
    parallel,
  );
  return () => {
    finish();
    return combineSgLoss(s, n, a, b, dzIn);
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
function sgLossHalf(
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
): CoreHalf | undefined {
  const { W, q, P, M, Ni, Pq, Mq } = s;
  const n = hi - lo;
  if (n <= 0) return undefined;
  const MqP = pad8(Mq);
  const E = emb !== undefined ? embeddingWidth(s) : 0;
  const Ep = pad8(E);
  const lay = allocLayout({
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
  const args = sgLossTask({
    n,
    W,
    q,
    P,
    M,
    Ni,
    pred: addr(kPred),
    mixed: addr(kMixed),
    alpha: addr(kAlpha),
    uPar: addr(kU),
    denom: Math.max(rows.length, 1) * W * q,
    cp: MqP,
    dz: addr(dz),
    uRows: addr(uRows),
    loss: addr(loss),
    dsgBias: addr(dsgBias),
    dzIn: addr(kDzIn),
    dsgPar: addr(dsgPar),
    withEmb: emb !== undefined ? 1 : 0,
    emb: addr(kEmb),
    ep: Ep,
    dsgEmb: addr(dsgEmb),
  });
  const finish = () => {
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
    lay.release();
  };
  return { args, finish };
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
 * Summed as two fixed halves (on two threads when `parallel`: the same numbers).
 */
export function coreEstimatorSums(
  s: CoreSizes,
  trace: CoreTrace,
  g: Float32Array,
  sub: Float32Array,
  rows: Int32Array,
  emb: Float32Array,
): EstimatorSums {
  return startEstimatorHalves(s, trace, g, sub, rows, emb, false)();
}

/** Starts coreEstimatorSums's two halves; the returned function completes and combines them. */
export function startEstimatorHalves(
  s: CoreSizes,
  trace: CoreTrace,
  g: Float32Array,
  sub: Float32Array,
  rows: Int32Array,
  emb: Float32Array,
  parallel: boolean,
): () => EstimatorSums {
  const n = rows.length;
  const mid = estimatorSplit(n);
  const a = allocEstimatorPartial(s);
  const b = allocEstimatorPartial(s);
  const finish = startCoreHalves(
    "estimator_halves",
    [
      () => estimatorHalf(s, trace, g, sub, rows, emb, 0, mid, a),
      () => estimatorHalf(s, trace, g, sub, rows, emb, mid, n, b),
    ],
    parallel,
  );
  return () => {
    finish();
    return combineEstimatorPartials(s, n, a, b);
  };
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
function estimatorHalf(
  s: CoreSizes,
  trace: CoreTrace,
  g: Float32Array,
  sub: Float32Array,
  rows: Int32Array,
  emb: Float32Array,
  lo: number,
  hi: number,
  out: EstimatorPartial,
): CoreHalf | undefined {
  const { W, q, P, M, Ni, Pq, Mq, C } = s;
  const n = hi - lo;
  if (n <= 0) return undefined;
  const E = embeddingWidth(s);
  const Ep = pad8(E);
  const PqP = pad8(Pq);
  const lay = allocLayout({
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
  const args = estimatorTask({
    n,
    W,
    q,
    P,
    M,
    Ni,
    g: addr(kG),
    sub: addr(kSub),
    alpha: addr(kAlpha),
    y: addr(kY),
    uPar: addr(kU),
    emb: addr(kEmb),
    E,
    ep: Ep,
    invSqrtD: 1 / Math.sqrt(s.D),
    cp: PqP,
    xw: addr(xw),
    xd: addr(xd),
    uRows: addr(uRows),
    sums: addr(sums),
    tw: addr(tw),
    td: addr(td),
    gw: addr(gw),
    gd: addr(gd),
    xwIn: addr(kXwIn),
    xdIn: addr(kXdIn),
    gwEmb: addr(gwEmb),
    gdEmb: addr(gdEmb),
    scratch: addr(scratch),
  });
  const finish = () => {
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
    lay.release();
  };
  return { args, finish };
}
