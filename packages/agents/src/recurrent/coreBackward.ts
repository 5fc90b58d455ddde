/**
 * Backpropagation through time of the recurrent SparseNet's neuron core on the kernels
 * (coreBackward.c), as two fixed groups of environments whose parameter gradients are added in a
 * fixed order (see sparseCore.ts).
 */
import { addr, allocLayout, backwardTask, type KernelLayout, pad8 } from "@sgprop/kernels";
import {
  type CoreHalf,
  type CoreMaps,
  type CoreSizes,
  type CoreTrace,
  type EmbeddingTerm,
  embeddingWidth,
  type F32s,
  padMapsTransposed,
  sharedFloat32,
  sharedFloat64,
  startCoreHalves,
} from "./sparseCore.js";

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
  return backwardHalves(s, maps, trace, dActor, keep, numSteps, numEnvs, mixing, embedding, false);
}

/**
 * coreBackward with its two fixed groups of environments on two threads when `parallel` (the
 * numbers are the same either way): group 0's sums go straight into the result, group 1's are
 * added after them.
 */
export function backwardHalves(
  s: CoreSizes,
  maps: CoreMaps,
  trace: CoreTrace,
  dActor: Float32Array,
  keep: ArrayLike<number>,
  numSteps: number,
  numEnvs: number,
  mixing: CoreMixing | undefined,
  embedding: EmbeddingTerm | undefined,
  parallel: boolean,
): CoreBackwardResult {
  const { out, half } = backwardGroups(
    s,
    maps,
    trace,
    dActor,
    keep,
    numSteps,
    numEnvs,
    mixing,
    embedding,
    parallel,
  );
  addBackwardSums(out, half);
  return out;
}

/**
 * The backward pass of exactly two environments with each one's parameter-gradient sums kept
 * apart (env 0's in `out`, env 1's in `env1`), both computed at once on two threads when
 * `parallel`: what a per-episode diagnosis needs (diagnose/recurrentEpisode.ts).
 */
export function backwardTwoEnvs(
  s: CoreSizes,
  maps: CoreMaps,
  trace: CoreTrace,
  dActor: Float32Array,
  keep: ArrayLike<number>,
  numSteps: number,
  mixing: CoreMixing | undefined,
  embedding: EmbeddingTerm | undefined,
  parallel: boolean,
): { out: BackwardOutputs; env1: BackwardSums } {
  const { out, half } = backwardGroups(
    s,
    maps,
    trace,
    dActor,
    keep,
    numSteps,
    2,
    mixing,
    embedding,
    parallel,
  );
  return { out, env1: half };
}

/** Both groups of environments; group 0's sums in `out`, group 1's in `half`. */
function backwardGroups(
  s: CoreSizes,
  maps: CoreMaps,
  trace: CoreTrace,
  dActor: Float32Array,
  keep: ArrayLike<number>,
  numSteps: number,
  numEnvs: number,
  mixing: CoreMixing | undefined,
  embedding: EmbeddingTerm | undefined,
  parallel: boolean,
): { out: BackwardOutputs; half: BackwardSums } {
  const { W, P, Pq, Ni, C } = s;
  const out = allocBackward(s, numSteps * numEnvs, mixing !== undefined, embedding !== undefined);
  const mid = backwardSplit(numEnvs);
  const half = allocBackwardSums(s);
  const E = embedding !== undefined ? embeddingWidth(s) : 0;
  const Ep = pad8(E);
  const PqP = pad8(Pq);
  const shared = allocLayout({
    f64: [numSteps * W],
    f32: [W * C * PqP, Ni * C * Ep],
    i32: [W * P],
  });
  const [wT, wEmbT] = shared.f32 as F32s<2>;
  (shared.i32[0] as Int32Array).set(maps.parentIdx);
  padMapsTransposed(maps.wPar, W, C, Pq, PqP, wT);
  if (embedding !== undefined) padMapsTransposed(embedding.maps, 1, Ni * C, E, Ep, wEmbT);
  if (mixing !== undefined) (shared.f64[0] as Float64Array).set(mixing.theta);
  const inputs: BackwardInputs = { s, trace, dActor, keep, numSteps, numEnvs, mixing, embedding, shared };
  startCoreHalves(
    "backward_halves",
    [() => backwardHalf(inputs, 0, mid, out, out), () => backwardHalf(inputs, mid, numEnvs, out, half)],
    parallel,
    shared,
  )();
  return { out, half };
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

interface BackwardInputs {
  readonly s: CoreSizes;
  readonly trace: CoreTrace;
  readonly dActor: Float32Array;
  readonly keep: ArrayLike<number>;
  readonly numSteps: number;
  readonly numEnvs: number;
  readonly mixing: CoreMixing | undefined;
  readonly embedding: EmbeddingTerm | undefined;
  /** theta [T][W] (f64), wT [W][C][PqP], wEmbT [Ni*C][Ep], parentIdx [W*P] in kernel memory. */
  readonly shared: KernelLayout;
}

/**
 * The backward pass of environments b0..b1-1: their rows of the per-row outputs in `out`, their
 * parameter-gradient sums added to `sums` (zeroed by the caller).
 */
function backwardHalf(
  x: BackwardInputs,
  b0: number,
  b1: number,
  out: CoreBackwardResult,
  sums: BackwardSums,
): CoreHalf | undefined {
  const { s, trace, dActor, keep, numSteps, numEnvs, mixing, embedding } = x;
  const { W, q, P, M, Ni, Pq, Mq, C } = s;
  const nb = b1 - b0;
  if (nb <= 0) return undefined;
  const T = numSteps;
  const nRows = T * nb;
  const CP = pad8(C);
  const PqP = pad8(Pq);
  const mixRows = mixing !== undefined ? nRows : 0;
  const E = embedding !== undefined ? embeddingWidth(s) : 0;
  const Ep = pad8(E);
  // Local rows l = t*nb + (b - b0).
  const lay = allocLayout({
    f64: [nb * W * q, nb * W * q, W * C, W * Pq * CP, 2 * q + C + M, Ni * C * Ep],
    f32: [
      nRows,
      nRows * W * q,
      nRows * W * M,
      nRows * W * Mq,
      nRows * W * Pq,
      mixRows * W * q,
      nRows * W * q,
      mixRows * W * q,
      mixRows * W * q,
      nRows * Ni * C,
      W * nRows * CP,
      nb * W * PqP,
      nRows * Pq,
      nRows * Ep,
      nRows * Ep,
    ],
  });
  const [carry, next, dBias, dwPar, scratch, dWemb] = lay.f64 as [
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
  ];
  const [kKeep, kdActor, kAlpha, kY, kU, kPred, kTrue, kMixed, kSub, kDzIn, dzAll, du, uRows, kEmb, kDe] =
    lay.f32 as F32s<15>;
  const theta = x.shared.f64[0] as Float64Array;
  const [wT, wEmbT] = x.shared.f32 as F32s<2>;
  const parentIdx = x.shared.i32[0] as Int32Array;
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
  dBias.fill(0);
  const args = backwardTask({
    T,
    nb,
    W,
    q,
    P,
    M,
    Ni,
    parentIdx: addr(parentIdx),
    keep: addr(kKeep),
    dActor: addr(kdActor),
    alpha: addr(kAlpha),
    y: addr(kY),
    uPar: addr(kU),
    pred: addr(kPred),
    theta: addr(theta),
    mixing: mixing !== undefined ? 1 : 0,
    positiveProjection: mixing?.positiveProjection === true ? 1 : 0,
    invSqrtD: 1 / Math.sqrt(s.D),
    wT: addr(wT),
    cp: CP,
    pqp: PqP,
    trueGrad: addr(kTrue),
    mixedGrad: addr(kMixed),
    substitute: addr(kSub),
    dzIn: addr(kDzIn),
    dzAll: addr(dzAll),
    du: addr(du),
    carry: addr(carry),
    next: addr(next),
    dBias: addr(dBias),
    dwPar: addr(dwPar),
    uRows: addr(uRows),
    scratch: addr(scratch),
    withEmb: embedding !== undefined ? 1 : 0,
    emb: addr(kEmb),
    ep: Ep,
    wEmbT: addr(wEmbT),
    dWemb: addr(dWemb),
    de: addr(kDe),
  });
  const finish = () => {
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
    lay.release();
  };
  return { args, finish };
}
