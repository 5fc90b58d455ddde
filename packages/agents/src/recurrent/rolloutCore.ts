/**
 * A whole rollout step of the recurrent SparseNet on the WebAssembly kernels: observation
 * embedding, the input neurons' embedding term, the neuron core and the actor, for the B envs of
 * one step, with one copy in (observations, previous state) and one copy out (trace rows, logits).
 * The per-step tfjs version cost ~30 small ops of tens of microseconds each; the numbers agree
 * with it to f32 rounding (same formulas, sums in f32 for the contractions and f64 elsewhere).
 */
import { type CoreMaps, type CoreSizes, type CoreTrace, padMaps, padMapsTransposed } from "./sparseCore.js";
import { addr, type CoreWasm, coreWasm, pad8 } from "./wasmCore.js";

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

interface Workspace {
  readonly kernels: CoreWasm;
  readonly maps: CoreMaps;
  readonly weights: RolloutWeights;
  readonly rows: number;
  readonly generation: number;
  readonly f32: Float32Array[];
  readonly zz: Float64Array;
  readonly parentIdx: Int32Array;
}

let cache: Workspace | undefined;

enum Buf {
  W1,
  B1,
  W2,
  B2,
  WEmb,
  Actor,
  ActorB,
  Bias,
  WPar,
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

function workspace(s: CoreSizes, maps: CoreMaps, w: RolloutWeights, rows: number): Workspace {
  const kernels = coreWasm();
  const c = cache;
  if (
    c !== undefined &&
    c.maps === maps &&
    c.weights === w &&
    c.rows >= rows &&
    c.generation === kernels.generation
  )
    return c;
  const { W, q, P, M, Ni, Pq, Mq, C } = s;
  const { obsDim: O, embedHidden: E1, embedDim: E, numActions: A, actorSlots: S } = w;
  const F = W * q;
  const [E1p, Ep, NCp, Ap, CP] = [pad8(E1), pad8(E), pad8(Ni * C), pad8(2 * A * S), pad8(C)];
  const sizes: number[] = [];
  sizes[Buf.W1] = O * E1p;
  sizes[Buf.B1] = E1;
  sizes[Buf.W2] = E1 * Ep;
  sizes[Buf.B2] = E;
  sizes[Buf.WEmb] = E * NCp;
  sizes[Buf.Actor] = F * Ap;
  sizes[Buf.ActorB] = A * S;
  sizes[Buf.Bias] = W * C;
  sizes[Buf.WPar] = W * Pq * CP;
  sizes[Buf.Obs] = rows * O;
  sizes[Buf.X1] = rows * E1p;
  sizes[Buf.Emb] = rows * Ep;
  sizes[Buf.Ext] = rows * NCp;
  sizes[Buf.HPrev] = rows * F;
  sizes[Buf.Keep] = rows;
  sizes[Buf.U] = rows * W * Pq;
  sizes[Buf.Z] = rows * W * CP;
  sizes[Buf.Y] = rows * W * Mq;
  sizes[Buf.Alpha] = rows * W * M;
  sizes[Buf.H] = rows * F;
  sizes[Buf.ZActor] = rows * Ap;
  sizes[Buf.Logits] = rows * A;
  const lay = kernels.layout({ f64: [C], f32: sizes, i32: [W * P] });
  const f = lay.f32;
  const get = (b: Buf) => f[b] as Float32Array;
  padMapsTransposed(w.featureMapWeight, 1, O, E1, E1p, get(Buf.W1));
  get(Buf.B1).set(w.featureMapBias);
  padMapsTransposed(w.preprocessorWeight, 1, E1, E, Ep, get(Buf.W2));
  get(Buf.B2).set(w.preprocessorBias);
  padMaps(w.wEmb, 1, E, Ni * C, NCp, get(Buf.WEmb));
  const actor = get(Buf.Actor);
  const AS = A * S;
  for (let j = 0; j < AS; j++)
    for (let k = 0; k < F; k++) {
      actor[k * Ap + j] = w.actorKeys[j * F + k] as number;
      actor[k * Ap + AS + j] = w.actorA[j * F + k] as number;
    }
  get(Buf.ActorB).set(w.actorB);
  get(Buf.Bias).set(maps.bias);
  padMaps(maps.wPar, W, Pq, C, CP, get(Buf.WPar));
  const parentIdx = lay.i32[0] as Int32Array;
  parentIdx.set(maps.parentIdx);
  cache = {
    kernels,
    maps,
    weights: w,
    rows,
    generation: lay.generation,
    f32: f,
    zz: lay.f64[0] as Float64Array,
    parentIdx,
  };
  return cache;
}

/**
 * One rollout step for n envs: observations `obs` [n][O], previous state hPrev [n][W][q] at
 * `hPrevOffset` (a row is zeroed where keep[b] = 0); writes rows row0..row0+n-1 of the trace and
 * returns the logits [n][A] (a fresh array).
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
): Float32Array {
  const logits = new Float32Array(n * weights.numActions);
  rolloutRows(s, maps, weights, hPrev, hPrevOffset, keep, obs, trace, row0, 0, n, logits);
  return logits;
}

/**
 * Envs r0..r1-1 of a rollout step (arguments as in rolloutStep; `logits` [n][A] receives rows
 * r0..r1-1). Every env's numbers are the same whichever envs a call covers, so the envs of a step
 * can be split between threads.
 */
export function rolloutRows(
  s: CoreSizes,
  maps: CoreMaps,
  weights: RolloutWeights,
  hPrev: Float32Array,
  hPrevOffset: number,
  keep: ArrayLike<number>,
  obs: Float32Array,
  trace: CoreTrace,
  row0: number,
  r0: number,
  r1: number,
  logits: Float32Array,
): void {
  const n = r1 - r0;
  if (n <= 0) return;
  const ws = workspace(s, maps, weights, n);
  const { W, q, P, M, Ni, Pq, Mq, C } = s;
  const { obsDim: O, embedHidden: E1, embedDim: E, numActions: A, actorSlots: S } = weights;
  const F = W * q;
  const [E1p, Ep, NCp, Ap, CP] = [pad8(E1), pad8(E), pad8(Ni * C), pad8(2 * A * S), pad8(C)];
  const b = (x: Buf) => ws.f32[x] as Float32Array;
  const k = ws.kernels;
  b(Buf.Obs).set(obs.subarray(r0 * O, r1 * O));
  b(Buf.HPrev).set(hPrev.subarray(hPrevOffset + r0 * F, hPrevOffset + r1 * F));
  const keepBuf = b(Buf.Keep);
  for (let r = 0; r < n; r++) keepBuf[r] = keep[r0 + r] as number;
  k.call(
    "embed_rows",
    n,
    O,
    E1,
    E,
    addr(b(Buf.Obs)),
    addr(b(Buf.W1)),
    E1p,
    addr(b(Buf.B1)),
    addr(b(Buf.W2)),
    Ep,
    addr(b(Buf.B2)),
    addr(b(Buf.X1)),
    addr(b(Buf.Emb)),
    weights.lnEps,
    weights.leakySlope,
  );
  k.call("matvec", addr(b(Buf.Emb)), Ep, 0, addr(b(Buf.WEmb)), E, NCp, addr(b(Buf.Ext)), NCp, 0, n, 1);
  k.call(
    "forward_step",
    n,
    W,
    q,
    P,
    M,
    Ni,
    addr(ws.parentIdx),
    addr(b(Buf.HPrev)),
    addr(keepBuf),
    addr(b(Buf.Ext)),
    NCp,
    addr(b(Buf.Bias)),
    addr(b(Buf.WPar)),
    CP,
    1 / Math.sqrt(s.D),
    addr(b(Buf.U)),
    addr(b(Buf.Z)),
    addr(b(Buf.Y)),
    addr(b(Buf.Alpha)),
    addr(b(Buf.H)),
    addr(ws.zz),
  );
  k.call(
    "actor_logits",
    n,
    F,
    A,
    S,
    addr(b(Buf.H)),
    addr(b(Buf.Actor)),
    Ap,
    addr(b(Buf.ActorB)),
    1 / Math.sqrt(F),
    addr(b(Buf.ZActor)),
    addr(b(Buf.Logits)),
  );
  const first = row0 + r0;
  trace.uPar.set(b(Buf.U).subarray(0, n * W * Pq), first * W * Pq);
  trace.y.set(b(Buf.Y).subarray(0, n * W * Mq), first * W * Mq);
  trace.alpha.set(b(Buf.Alpha).subarray(0, n * W * M), first * W * M);
  trace.h.set(b(Buf.H).subarray(0, n * F), first * F);
  logits.set(b(Buf.Logits).subarray(0, n * A), r0 * A);
}
