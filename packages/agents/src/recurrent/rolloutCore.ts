/**
 * A whole rollout step of the recurrent SparseNet on the WebAssembly kernels: observation
 * embedding, the input neurons' embedding term, the neuron core and the actor, for the B envs of
 * one step, with one copy in (observations, previous state) and one copy out (trace rows, logits),
 * as two fixed halves of the envs (rollout.c; the kernel runtime may run them on two threads).
 * The per-step tfjs version cost ~30 small ops of tens of microseconds each; the numbers agree
 * with it to f32 rounding (same formulas, sums in f32 for the contractions and f64 elsewhere).
 */
import { addr, allocLayout, type KernelLayout, pad8, rolloutTask, type TaskArg } from "@sgprop/kernels";
import {
  type CoreHalf,
  type CoreMaps,
  type CoreSizes,
  type CoreTrace,
  padMaps,
  padMapsTransposed,
  startCoreHalves,
} from "./sparseCore.js";

/** The rollout's non-core weights in plain arrays (read once per batch). */
export interface RolloutWeights {
  readonly obsDim: number;
  readonly embedHidden: number;
  readonly embedDim: number;
  readonly numActions: number;
  readonly actorSlots: number;
  readonly lnEps: number;
  readonly leakySlope: number;
  /** featureMap [E1, O], preprocessor [E, E1] (PyTorch Linear layout) and their biases. */
  readonly featureMapWeight: Float32Array;
  readonly featureMapBias: Float32Array;
  readonly preprocessorWeight: Float32Array;
  readonly preprocessorBias: Float32Array;
  /** [E][Ni*C] embedding maps of the input neurons (SparseNet CoreKernels.wEmb). */
  readonly wEmb: Float32Array;
  /** actorKeys, actorA [A, S, W*q] and actorB [A, S]. */
  readonly actorKeys: Float32Array;
  readonly actorA: Float32Array;
  readonly actorB: Float32Array;
}

/** The rollout's weights in kernel layout, kept across the steps of a batch. */
interface WeightBuffers {
  readonly maps: CoreMaps;
  readonly weights: RolloutWeights;
  readonly layout: KernelLayout;
}

/** One half's per-step inputs, outputs and scratch, for up to `rows` envs. */
interface RowBuffers {
  readonly rows: number;
  /** The network sizes the buffers were laid out for (a cache hit needs the same). */
  readonly shape: string;
  readonly layout: KernelLayout;
}

enum Wt {
  W1,
  B1,
  W2,
  B2,
  WEmb,
  Actor,
  ActorB,
  Bias,
  WPar,
}

enum Row {
  Obs,
  X1,
  Emb,
  Ext,
  HPrev,
  Keep,
  U,
  Z,
  Y,
  Alpha,
  H,
  ZActor,
  Logits,
}

let weightCache: WeightBuffers | undefined;
const rowCache: (RowBuffers | undefined)[] = [undefined, undefined];

/** Padded sizes of a rollout's kernel buffers. */
function padded(s: CoreSizes, w: RolloutWeights) {
  return {
    E1p: pad8(w.embedHidden),
    Ep: pad8(w.embedDim),
    NCp: pad8(s.Ni * s.C),
    Ap: pad8(2 * w.numActions * w.actorSlots),
    CP: pad8(s.C),
  };
}

function weightBuffers(s: CoreSizes, maps: CoreMaps, w: RolloutWeights): WeightBuffers {
  const c = weightCache;
  if (c !== undefined && c.maps === maps && c.weights === w) return c;
  c?.layout.release();
  const { W, P, Ni, Pq, C } = s;
  const { obsDim: O, embedHidden: E1, embedDim: E, numActions: A, actorSlots: S } = w;
  const F = W * s.q;
  const { E1p, Ep, NCp, Ap, CP } = padded(s, w);
  const sizes: number[] = [];
  sizes[Wt.W1] = O * E1p;
  sizes[Wt.B1] = E1;
  sizes[Wt.W2] = E1 * Ep;
  sizes[Wt.B2] = E;
  sizes[Wt.WEmb] = E * NCp;
  sizes[Wt.Actor] = F * Ap;
  sizes[Wt.ActorB] = A * S;
  sizes[Wt.Bias] = W * C;
  sizes[Wt.WPar] = W * Pq * CP;
  const layout = allocLayout({ f32: sizes, i32: [W * P] });
  const get = (b: Wt) => layout.f32[b] as Float32Array;
  padMapsTransposed(w.featureMapWeight, 1, O, E1, E1p, get(Wt.W1));
  get(Wt.B1).set(w.featureMapBias);
  padMapsTransposed(w.preprocessorWeight, 1, E1, E, Ep, get(Wt.W2));
  get(Wt.B2).set(w.preprocessorBias);
  padMaps(w.wEmb, 1, E, Ni * C, NCp, get(Wt.WEmb));
  const actor = get(Wt.Actor);
  const AS = A * S;
  for (let j = 0; j < AS; j++)
    for (let k = 0; k < F; k++) {
      actor[k * Ap + j] = w.actorKeys[j * F + k] as number;
      actor[k * Ap + AS + j] = w.actorA[j * F + k] as number;
    }
  get(Wt.ActorB).set(w.actorB);
  get(Wt.Bias).set(maps.bias);
  padMaps(maps.wPar, W, Pq, C, CP, get(Wt.WPar));
  (layout.i32[0] as Int32Array).set(maps.parentIdx);
  weightCache = { maps, weights: w, layout };
  return weightCache;
}

function rowBuffers(s: CoreSizes, w: RolloutWeights, half: number, rows: number): RowBuffers {
  const c = rowCache[half];
  // Row widths depend on the network's sizes, so a buffer laid out for another network (a second
  // policy in the same process) is not reused even when it has enough rows.
  const shape = [
    s.W,
    s.q,
    s.M,
    s.P,
    s.C,
    w.obsDim,
    w.embedHidden,
    w.embedDim,
    w.numActions,
    w.actorSlots,
  ].join(",");
  if (c !== undefined && c.rows >= rows && c.shape === shape) return c;
  c?.layout.release();
  const { W, q, M, Pq, Mq, C } = s;
  const { E1p, Ep, NCp, Ap, CP } = padded(s, w);
  const F = W * q;
  const sizes: number[] = [];
  sizes[Row.Obs] = rows * w.obsDim;
  sizes[Row.X1] = rows * E1p;
  sizes[Row.Emb] = rows * Ep;
  sizes[Row.Ext] = rows * NCp;
  sizes[Row.HPrev] = rows * F;
  sizes[Row.Keep] = rows;
  sizes[Row.U] = rows * W * Pq;
  sizes[Row.Z] = rows * W * CP;
  sizes[Row.Y] = rows * W * Mq;
  sizes[Row.Alpha] = rows * W * M;
  sizes[Row.H] = rows * F;
  sizes[Row.ZActor] = rows * Ap;
  sizes[Row.Logits] = rows * w.numActions;
  const b: RowBuffers = { rows, shape, layout: allocLayout({ f64: [C], f32: sizes }) };
  rowCache[half] = b;
  return b;
}

/**
 * One rollout step for n envs: observations `obs` [n][O], previous state hPrev [n][W][q] at
 * `hPrevOffset` (a row is zeroed where keep[b] = 0); writes rows row0..row0+n-1 of the trace and
 * returns the logits [n][A] (a fresh array). The envs run as two fixed halves, [0, n/2) and
 * [n/2, n), on two threads when `parallel`: every env's numbers are the same either way.
 */
export function rolloutStep(
  s: CoreSizes,
  maps: CoreMaps,
  weights: RolloutWeights,
  hPrev: Float32Array,
  hPrevOffset: number,
  keep: ArrayLike<number>,
  obs: Float32Array,
  trace: CoreTrace,
  row0: number,
  n: number,
  parallel = false,
): Float32Array {
  const logits = new Float32Array(n * weights.numActions);
  const wb = weightBuffers(s, maps, weights);
  const mid = Math.floor(n / 2);
  const half = (h: number, r0: number, r1: number) => (): CoreHalf | undefined => {
    const x = rolloutHalf(s, wb, h, hPrev, hPrevOffset, keep, obs, r0, r1);
    if (x === undefined) return undefined;
    const nh = r1 - r0;
    const { W, q, M, Pq, Mq } = s;
    const F = W * q;
    const A = weights.numActions;
    const b = (r: Row) => x.rows.layout.f32[r] as Float32Array;
    const first = row0 + r0;
    const finish = () => {
      trace.uPar.set(b(Row.U).subarray(0, nh * W * Pq), first * W * Pq);
      trace.y.set(b(Row.Y).subarray(0, nh * W * Mq), first * W * Mq);
      trace.alpha.set(b(Row.Alpha).subarray(0, nh * W * M), first * W * M);
      trace.h.set(b(Row.H).subarray(0, nh * F), first * F);
      logits.set(b(Row.Logits).subarray(0, nh * A), r0 * A);
    };
    return { args: x.args, finish };
  };
  startCoreHalves("rollout_halves", [half(0, 0, mid), half(1, mid, n)], parallel)();
  return logits;
}

/** Copies envs r0..r1-1 of a step into half `h`'s buffers; returns its kernel arguments. */
function rolloutHalf(
  s: CoreSizes,
  wb: WeightBuffers,
  h: number,
  hPrev: Float32Array,
  hPrevOffset: number,
  keep: ArrayLike<number>,
  obs: Float32Array,
  r0: number,
  r1: number,
): { rows: RowBuffers; args: TaskArg[] } | undefined {
  const n = r1 - r0;
  if (n <= 0) return undefined;
  const w = wb.weights;
  const rows = rowBuffers(s, w, h, n);
  const { W, q, P, M, Ni } = s;
  const { obsDim: O, embedHidden: E1, embedDim: E, numActions: A, actorSlots: S } = w;
  const F = W * q;
  const { E1p, Ep, NCp, Ap, CP } = padded(s, w);
  const b = (x: Row) => addr(rows.layout.f32[x] as Float32Array);
  const wt = (x: Wt) => addr(wb.layout.f32[x] as Float32Array);
  (rows.layout.f32[Row.Obs] as Float32Array).set(obs.subarray(r0 * O, r1 * O));
  (rows.layout.f32[Row.HPrev] as Float32Array).set(
    hPrev.subarray(hPrevOffset + r0 * F, hPrevOffset + r1 * F),
  );
  const keepBuf = rows.layout.f32[Row.Keep] as Float32Array;
  for (let r = 0; r < n; r++) keepBuf[r] = keep[r0 + r] as number;
  const args = rolloutTask({
    n,
    O,
    E1,
    E,
    obs: b(Row.Obs),
    w1: wt(Wt.W1),
    e1p: E1p,
    b1: wt(Wt.B1),
    w2: wt(Wt.W2),
    ep: Ep,
    b2: wt(Wt.B2),
    x1: b(Row.X1),
    emb: b(Row.Emb),
    lnEps: w.lnEps,
    slope: w.leakySlope,
    wEmb: wt(Wt.WEmb),
    ncp: NCp,
    ext: b(Row.Ext),
    W,
    q,
    P,
    M,
    Ni,
    parentIdx: addr(wb.layout.i32[0] as Int32Array),
    hPrev: b(Row.HPrev),
    keep: b(Row.Keep),
    bias: wt(Wt.Bias),
    wPad: wt(Wt.WPar),
    cp: CP,
    invSqrtD: 1 / Math.sqrt(s.D),
    u: b(Row.U),
    z: b(Row.Z),
    y: b(Row.Y),
    alpha: b(Row.Alpha),
    h: b(Row.H),
    zz: addr(rows.layout.f64[0] as Float64Array),
    F,
    A,
    S,
    actor: wt(Wt.Actor),
    actorCp: Ap,
    actorBias: wt(Wt.ActorB),
    invSqrtF: 1 / Math.sqrt(F),
    zActor: b(Row.ZActor),
    logits: b(Row.Logits),
  });
  return { rows, args };
}
