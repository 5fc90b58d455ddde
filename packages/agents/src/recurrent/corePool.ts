/**
 * Row-parallel parts of the SparseNet update on a second thread (node:worker_threads).
 *
 * Given the parameters, every row (SG predictions, SG loss, eq. 3 sums) and every environment's
 * trajectory (BPTT) is independent, so each phase is split into two fixed halves whose additive
 * results are added on the main thread in a fixed order (half 0 first). A half is a task that
 * either thread can compute into SharedArrayBuffer memory with the same numbers: the worker's
 * halves are posted at once and the main thread blocks on an Atomics flag when it needs them (the
 * update stays synchronous). The `start*` functions post their halves and return a pending result,
 * so that the main thread can run tfjs work (actor, gradient assembly) meanwhile; the `*Parallel`
 * functions split a phase between the two threads and return when it is done. The single-threaded
 * path computes the same halves, so results are identical with or without the worker. The worker
 * is created lazily, reused across batches, unref'd (it never keeps the process alive) and
 * released by `disposeCoreWorker` (SparseNetLearner.dispose calls it). `SGPROP_CORE_THREADS=1`
 * forces one thread; small tasks stay on the main thread; a worker failure or a wait over 120 s
 * drops the worker and computes its halves on the main thread.
 */
import { Worker } from "node:worker_threads";
import { type RolloutWeights, rolloutRows } from "./rolloutCore.js";
import {
  addBackwardSums,
  allocBackward,
  allocBackwardSums,
  type BackwardOutputs,
  type BackwardSums,
  backwardSplit,
  type CoreBackwardResult,
  type CoreMaps,
  type CoreMixing,
  type CoreSizes,
  type CoreTrace,
  combineEstimatorPartials,
  combineSgLoss,
  coreBackwardEnvs,
  coreEstimatorPartial,
  corePredictionRows,
  coreSgLossPartial,
  type EmbeddingTerm,
  type EstimatorPartial,
  type EstimatorSums,
  estimatorHalves,
  estimatorSplit,
  type SgLossPartial,
  type SgLossResult,
  sgLossHalves,
  sharedFloat32,
} from "./sparseCore.js";

interface TaskBase {
  readonly flag: Int32Array;
  readonly s: CoreSizes;
  readonly trace: CoreTrace;
}

export interface PredictionTask extends TaskBase {
  readonly kind: "predictions";
  readonly sgParT: Float32Array;
  readonly sgBias: Float32Array;
  readonly sgExt: Float32Array | EmbeddingTerm;
  readonly out: Float32Array;
  readonly r0: number;
  readonly r1: number;
}

export interface EstimatorTask extends TaskBase {
  readonly kind: "estimator";
  readonly g: Float32Array;
  readonly sub: Float32Array;
  readonly rows: Int32Array;
  readonly emb: Float32Array;
  readonly lo: number;
  readonly hi: number;
  readonly out: EstimatorPartial;
}

export interface BackwardTask extends TaskBase {
  readonly kind: "backward";
  readonly maps: CoreMaps;
  readonly dActor: Float32Array;
  readonly keep: Float32Array;
  readonly numSteps: number;
  readonly numEnvs: number;
  readonly mixing: CoreMixing | undefined;
  readonly b0: number;
  readonly b1: number;
  readonly out: BackwardOutputs;
  readonly sums: BackwardSums;
  readonly embedding: EmbeddingTerm | undefined;
}

export interface SgLossTask extends TaskBase {
  readonly kind: "sgLoss";
  readonly pred: Float32Array;
  readonly mixed: Float32Array;
  readonly rows: Int32Array;
  readonly lo: number;
  readonly hi: number;
  readonly out: SgLossPartial;
  readonly dzIn: Float32Array;
  readonly emb: Float32Array | undefined;
}

/** A rollout's weights, sent to the worker once per batch (tasks refer to them by id). */
export interface RolloutWeightsTask extends Omit<TaskBase, "trace"> {
  readonly kind: "rolloutWeights";
  readonly id: number;
  readonly maps: CoreMaps;
  readonly weights: RolloutWeights;
}

/** Envs r0..r1-1 of a rollout step (see rolloutRows). */
export interface RolloutTask extends TaskBase {
  readonly kind: "rollout";
  readonly id: number;
  readonly hPrev: Float32Array;
  readonly hPrevOffset: number;
  readonly keep: Float32Array;
  readonly obs: Float32Array;
  readonly row0: number;
  readonly r0: number;
  readonly r1: number;
  readonly logits: Float32Array;
}

export type CoreTask =
  | PredictionTask
  | EstimatorTask
  | BackwardTask
  | SgLossTask
  | RolloutWeightsTask
  | RolloutTask;

/** This thread's copy of the current rollout's weights. */
let rolloutInputs: { id: number; maps: CoreMaps; weights: RolloutWeights } | undefined;

/** Runs one task half on the calling thread (the worker's entry, and the fallback). */
export function runCoreTask(task: CoreTask): void {
  if (task.kind === "rolloutWeights") {
    rolloutInputs = { id: task.id, maps: task.maps, weights: task.weights };
  } else if (task.kind === "rollout") {
    const inputs = rolloutInputs;
    if (inputs === undefined || inputs.id !== task.id) throw new Error(`rollout weights ${task.id} missing`);
    rolloutRows(
      task.s,
      inputs.maps,
      inputs.weights,
      task.hPrev,
      task.hPrevOffset,
      task.keep,
      task.obs,
      task.trace,
      task.row0,
      task.r0,
      task.r1,
      task.logits,
    );
  } else if (task.kind === "predictions") {
    corePredictionRows(task.s, task.sgParT, task.sgBias, task.sgExt, task.trace, task.out, task.r0, task.r1);
  } else if (task.kind === "estimator") {
    coreEstimatorPartial(
      task.s,
      task.trace,
      task.g,
      task.sub,
      task.rows,
      task.emb,
      task.lo,
      task.hi,
      task.out,
    );
  } else if (task.kind === "sgLoss") {
    coreSgLossPartial(
      task.s,
      task.trace,
      task.pred,
      task.mixed,
      task.rows,
      task.lo,
      task.hi,
      task.out,
      task.dzIn,
      task.emb,
    );
  } else {
    coreBackwardEnvs(
      task.s,
      task.maps,
      task.trace,
      task.dActor,
      task.keep,
      task.numSteps,
      task.numEnvs,
      task.mixing,
      task.b0,
      task.b1,
      task.out,
      task.sums,
      task.embedding,
    );
  }
}

/** Below this many rows x neurons a task is not worth a thread hand-off. */
const MIN_PARALLEL_WORK = 4096;
/** The same for one rollout step (a hand-off per step costs tens of microseconds). */
const MIN_ROLLOUT_WORK = 2048;
/** Longest wait for the worker's half (its first task also waits for its start-up). */
const WAIT_MS = 120_000;

let worker: Worker | undefined;
let broken = false;
let workerTasks = 0;

/** How many task halves the worker thread has completed in this process (diagnostics, tests). */
export function coreWorkerTasks(): number {
  return workerTasks;
}

/** Whether row-parallel tasks may use a worker thread (SGPROP_CORE_THREADS=1 disables it). */
export function coreThreadsEnabled(): boolean {
  return process.env.SGPROP_CORE_THREADS !== "1" && !broken;
}

function createWorker(): Worker {
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL("./coreWorker.js", import.meta.url));
  // From TypeScript sources under tsx: worker threads do not inherit tsx's module hooks on
  // Node 20, so the worker registers them before importing its .ts entry (as apps/train's sweep).
  const api = import.meta.resolve("tsx/esm/api");
  const entry = new URL("./coreWorker.ts", import.meta.url).href;
  return new Worker(
    `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`,
    { eval: true },
  );
}

function getWorker(): Worker | undefined {
  if (worker !== undefined) return worker;
  try {
    const w = createWorker();
    w.unref();
    w.on("error", () => {
      broken = true;
      if (worker === w) worker = undefined;
    });
    w.on("exit", () => {
      if (worker === w) worker = undefined;
    });
    worker = w;
    return w;
  } catch {
    broken = true;
    return undefined;
  }
}

/** Starts the worker now (if threads are enabled) so its start-up overlaps other work. */
export function prewarmCoreWorker(): void {
  if (coreThreadsEnabled()) getWorker();
}

/** Terminates the worker thread, if any (a later task creates a new one). */
export function disposeCoreWorker(): void {
  const w = worker;
  worker = undefined;
  if (w !== undefined) void w.terminate();
}

/** Zeroes what a task half accumulates into (before computing it again after a worker failure). */
function resetOutputs(task: CoreTask): void {
  if (task.kind === "estimator") zeroPartial(task.out);
  else if (task.kind === "sgLoss")
    for (const x of [task.out.loss, task.out.dsgPar, task.out.dsgBias, task.out.dsgEmb]) x.fill(0);
  else if (task.kind === "backward")
    for (const x of [task.sums.dwPar, task.sums.dBias, task.sums.dWemb]) x.fill(0);
}

/** Core work under way: `finish()` completes it (waiting for the worker) and returns the result. */
export interface PendingCore<T> {
  finish(): T;
}

/**
 * Starts task halves: `posted` go to the worker now (when threads are on and `work` rows x neurons
 * reach the hand-off size; else they run here in the returned function); the returned function runs
 * `local` here, then waits for the worker's halves, computing any that failed or timed out here
 * (after resetting their outputs) and dropping the worker. Which thread computes a half never
 * changes its numbers.
 */
function startHalves(
  posted: readonly CoreTask[],
  local: readonly CoreTask[],
  work: number,
  minWork = MIN_PARALLEL_WORK,
): () => void {
  const w = work >= minWork && coreThreadsEnabled() ? getWorker() : undefined;
  if (w !== undefined) for (const t of posted) w.postMessage(t);
  return () => {
    for (const t of local) runCoreTask(t);
    for (const t of posted) {
      if (w === undefined) {
        runCoreTask(t);
        continue;
      }
      let state = Atomics.load(t.flag, 0);
      if (state === 0 && worker === w) {
        Atomics.wait(t.flag, 0, 0, WAIT_MS);
        state = Atomics.load(t.flag, 0);
      }
      if (state === 1) {
        workerTasks++;
      } else {
        broken = true;
        if (worker === w) disposeCoreWorker();
        resetOutputs(t);
        runCoreTask(t);
      }
    }
  };
}

function newFlag(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4));
}

function zeroPartial(p: EstimatorPartial): void {
  for (const a of [p.sumDd, p.sumWd, p.gw, p.gd, p.tw, p.td, p.gwEmb, p.gdEmb]) a.fill(0);
}

function predictionTasks(
  s: CoreSizes,
  sgParT: Float32Array,
  sgBias: Float32Array,
  sgExt: Float32Array | EmbeddingTerm,
  trace: CoreTrace,
): { out: Float32Array; a: PredictionTask; b: PredictionTask } {
  const out = sharedFloat32(trace.rows * s.W * s.q);
  // An even split point keeps row pairs together (values are per row anyway).
  const mid = 2 * Math.floor(trace.rows / 4);
  const half = (r0: number, r1: number): PredictionTask => ({
    kind: "predictions",
    flag: newFlag(),
    s,
    trace,
    sgParT,
    sgBias,
    sgExt,
    out,
    r0,
    r1,
  });
  return { out, a: half(0, mid), b: half(mid, trace.rows) };
}

/** corePredictions with the rows split between this thread and the worker (same values). */
export function predictionsParallel(
  s: CoreSizes,
  sgParT: Float32Array,
  sgBias: Float32Array,
  sgExt: Float32Array | EmbeddingTerm,
  trace: CoreTrace,
): Float32Array {
  const { out, a, b } = predictionTasks(s, sgParT, sgBias, sgExt, trace);
  startHalves([b], [a], (b.r1 - b.r0) * s.W)();
  return out;
}

/**
 * corePredictions started on the worker (both halves), so that this thread can do other work
 * meanwhile; `finish()` returns the predictions (computed here when threads are off).
 */
export function startPredictions(
  s: CoreSizes,
  sgParT: Float32Array,
  sgBias: Float32Array,
  sgExt: Float32Array | EmbeddingTerm,
  trace: CoreTrace,
): PendingCore<Float32Array> {
  const { out, a, b } = predictionTasks(s, sgParT, sgBias, sgExt, trace);
  const finish = startHalves([a, b], [], trace.rows * s.W);
  return {
    finish: () => {
      finish();
      return out;
    },
  };
}

/**
 * coreEstimatorSums with its two fixed halves on two threads (identical numbers). `emb` [R][E]
 * should be on shared memory (else it is copied to the worker).
 */
export function estimatorSumsParallel(
  s: CoreSizes,
  trace: CoreTrace,
  g: Float32Array,
  sub: Float32Array,
  rows: Int32Array,
  emb: Float32Array,
): EstimatorSums {
  return startEstimatorSums(s, trace, g, sub, rows, emb).finish();
}

/**
 * coreEstimatorSums with its second half started on the worker now; `finish()` computes the first
 * half here, waits for the second and combines them (identical numbers).
 */
export function startEstimatorSums(
  s: CoreSizes,
  trace: CoreTrace,
  g: Float32Array,
  sub: Float32Array,
  rows: Int32Array,
  emb: Float32Array,
): PendingCore<EstimatorSums> {
  const n = rows.length;
  const mid = estimatorSplit(n);
  const { a, b } = estimatorHalves(s);
  const half = (lo: number, hi: number, out: EstimatorPartial): EstimatorTask => ({
    kind: "estimator",
    flag: newFlag(),
    s,
    trace,
    g,
    sub,
    rows,
    emb,
    lo,
    hi,
    out,
  });
  const finish = startHalves([half(mid, n, b)], [half(0, mid, a)], (n - mid) * s.W);
  return {
    finish: () => {
      finish();
      return combineEstimatorPartials(s, n, a, b);
    },
  };
}

/**
 * coreBackward with its two fixed groups of environments on two threads (identical numbers).
 * The worker's inputs that are not on shared memory (maps, dActor, keep, theta) are copied once.
 */
export function backwardParallel(
  s: CoreSizes,
  maps: CoreMaps,
  trace: CoreTrace,
  dActor: Float32Array,
  keep: Float32Array,
  numSteps: number,
  numEnvs: number,
  mixing?: CoreMixing,
  embedding?: EmbeddingTerm,
): CoreBackwardResult {
  const out = allocBackward(s, numSteps * numEnvs, mixing !== undefined, embedding !== undefined);
  const mid = backwardSplit(numEnvs);
  const half = allocBackwardSums(s);
  const task: BackwardTask = {
    kind: "backward",
    flag: newFlag(),
    s,
    trace,
    maps: { wPar: maps.wPar, bias: maps.bias, parentIdx: maps.parentIdx },
    dActor,
    keep,
    numSteps,
    numEnvs,
    mixing: mixing !== undefined ? { ...mixing, theta: Float64Array.from(mixing.theta) } : undefined,
    b0: mid,
    b1: numEnvs,
    out,
    sums: half,
    embedding,
  };
  const local: BackwardTask = { ...task, flag: newFlag(), b0: 0, b1: mid, sums: out };
  startHalves([task], [local], numSteps * (numEnvs - mid) * s.W)();
  addBackwardSums(out, half);
  return out;
}

/** coreSgLoss with its two fixed halves of the valid rows on two threads (identical numbers). */
export function sgLossParallel(
  s: CoreSizes,
  trace: CoreTrace,
  pred: Float32Array,
  mixed: Float32Array,
  valid: ArrayLike<number>,
  emb?: Float32Array,
): SgLossResult {
  return startSgLoss(s, trace, pred, mixed, valid, emb, 1).finish();
}

/**
 * coreSgLoss with `workerHalves` (1: the second, 2: both) of its fixed halves started on the worker
 * now; `finish()` computes the others here, waits and combines (identical numbers).
 */
export function startSgLoss(
  s: CoreSizes,
  trace: CoreTrace,
  pred: Float32Array,
  mixed: Float32Array,
  valid: ArrayLike<number>,
  emb: Float32Array | undefined,
  workerHalves: 1 | 2,
): PendingCore<SgLossResult> {
  const { rows, n, mid, dzIn, a, b } = sgLossHalves(s, trace, valid);
  const half = (lo: number, hi: number, out: SgLossPartial): SgLossTask => ({
    kind: "sgLoss",
    flag: newFlag(),
    s,
    trace,
    pred,
    mixed,
    rows,
    lo,
    hi,
    out,
    dzIn,
    emb,
  });
  const first = half(0, mid, a);
  const second = half(mid, n, b);
  const finish =
    workerHalves === 2
      ? startHalves([first, second], [], n * s.W)
      : startHalves([second], [first], (n - mid) * s.W);
  return {
    finish: () => {
      finish();
      return combineSgLoss(s, n, a, b, dzIn);
    },
  };
}

let rolloutWorker: Worker | undefined;
let rolloutSentId = -1;
let nextRolloutId = 1;

/** A rollout's maps and weights with the id tasks refer to them by. */
export interface RolloutHandle {
  readonly id: number;
  readonly maps: CoreMaps;
  readonly weights: RolloutWeights;
  /** Reused across the steps (each step waits for the previous one): hand-off flags and logits. */
  readonly flags: readonly [Int32Array, Int32Array];
  logits: Float32Array;
}

/** Registers a batch's rollout weights (read once per batch). */
export function rolloutHandle(maps: CoreMaps, weights: RolloutWeights): RolloutHandle {
  return { id: nextRolloutId++, maps, weights, flags: [newFlag(), newFlag()], logits: sharedFloat32(0) };
}

/**
 * One rollout step for n envs (as rolloutStep), with the second half of the envs on the worker
 * when threads are on and the step is large enough: every env's numbers are the same either way.
 */
export function rolloutStepParallel(
  s: CoreSizes,
  handle: RolloutHandle,
  hPrev: Float32Array,
  hPrevOffset: number,
  keep: Float32Array,
  obs: Float32Array,
  trace: CoreTrace,
  row0: number,
  n: number,
): Float32Array {
  const work = n * s.W;
  const w = work >= MIN_ROLLOUT_WORK && coreThreadsEnabled() ? getWorker() : undefined;
  if (handle.logits.length !== n * handle.weights.numActions)
    handle.logits = sharedFloat32(n * handle.weights.numActions);
  const logits = handle.logits;
  const [flagB, flagA] = handle.flags;
  Atomics.store(flagA, 0, 0);
  Atomics.store(flagB, 0, 0);
  const mid = Math.floor(n / 2);
  rolloutInputs = { id: handle.id, maps: handle.maps, weights: handle.weights };
  if (w !== undefined && (rolloutWorker !== w || rolloutSentId !== handle.id)) {
    const send: RolloutWeightsTask = {
      kind: "rolloutWeights",
      flag: newFlag(),
      s,
      id: handle.id,
      maps: handle.maps,
      weights: handle.weights,
    };
    w.postMessage(send);
    rolloutWorker = w;
    rolloutSentId = handle.id;
  }
  const task: RolloutTask = {
    kind: "rollout",
    flag: flagB,
    s,
    trace,
    id: handle.id,
    hPrev,
    hPrevOffset,
    keep,
    obs,
    row0,
    r0: mid,
    r1: n,
    logits,
  };
  const local: RolloutTask = { ...task, flag: flagA, r0: 0, r1: mid };
  startHalves([task], [local], work, MIN_ROLLOUT_WORK)();
  return logits.slice();
}
