/**
 * Host side of the WebAssembly SIMD per-neuron kernels (kernels/perNeuron.c, embedded in
 * perNeuronWasm.ts). The kernels work on plain Float32Arrays: inputs are copied into one shared
 * linear memory, the neurons are split between this thread and one helper thread (both run the
 * same module on the same memory), and the results are copied out.
 *
 * Why a kernel of our own: the SparseNet models spend their FLOPs in W independent small GEMMs
 * (one per neuron), which tfjs-wasm runs through generic batched kernels at 3-6 GFLOP/s, while
 * register-blocked f32x4 loops reach about 20 GFLOP/s per core here. Each output element is
 * computed by exactly one thread with a fixed summation order, so the numbers do not depend on
 * the number of threads (tested). `SGPROP_KERNEL_THREADS=1` keeps everything on the calling thread.
 */
import { Worker } from "node:worker_threads";
import { PER_NEURON_WASM_BASE64 } from "./perNeuronWasm.js";

// The project's lib setting (ES2023, no DOM) has no WebAssembly types; this is the part we use.
interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface KernelExports {
  pn_pack(
    w: number,
    dst: number,
    W: number,
    D: number,
    K: number,
    kp: number,
    koff: number,
    tr: number,
    lo: number,
    hi: number,
  ): void;
  pn_matvec(
    u: number,
    wp: number,
    z: number,
    N: number,
    W: number,
    D: number,
    K: number,
    kp: number,
    lo: number,
    hi: number,
  ): void;
  pn_outer(
    a: number,
    u: number,
    o: number,
    N: number,
    W: number,
    K: number,
    D: number,
    lo: number,
    hi: number,
  ): void;
  pn_forward(prm: number, lo: number, hi: number): void;
}

const FUNCTIONS = ["pn_pack", "pn_matvec", "pn_outer", "pn_forward"] as const;
type KernelName = (typeof FUNCTIONS)[number];

const PAGE = 65536;
/** Bytes reserved at the start of memory (offset 0 stays unused, as a null pointer). */
const BASE = 1024;
/** Floats of slack after every buffer: the outer-product kernel reads up to 11 past its input. */
const SLACK = 16;
/** Multiply-adds below which a second thread costs more than it saves (a wake-up is ~20 us). */
const MIN_PARALLEL_WORK = 200_000;
/** A helper thread that has not answered in this long is considered lost. */
const WAIT_MS = 120_000;

// Control block shared with the helper: [request seq, done seq, status, function, args...].
const C_REQ = 0;
const C_DONE = 1;
const C_STATUS = 2;
const C_FN = 3;
const C_ARGS = 4;
const C_READY = 15;

const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const { module, memory, ctl, names } = workerData;
const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
const fns = names.map((n) => ex[n]);
Atomics.store(ctl, ${C_READY}, 1);
let seq = 0;
for (;;) {
  Atomics.wait(ctl, ${C_REQ}, seq);
  seq = Atomics.load(ctl, ${C_REQ});
  if (seq < 0) break;
  let status = 1;
  try {
    const args = Array.from(ctl.subarray(${C_ARGS}, ${C_READY}));
    fns[ctl[${C_FN}]](...args);
  } catch {
    status = 2;
  }
  Atomics.store(ctl, ${C_STATUS}, status);
  Atomics.store(ctl, ${C_DONE}, seq);
  Atomics.notify(ctl, ${C_DONE});
}
`;

class KernelRuntime {
  readonly memory: WasmMemory;
  private readonly exports: KernelExports;
  private readonly module: object;
  private ctl = new Int32Array(new SharedArrayBuffer(16 * 4));
  private worker: Worker | undefined;
  private broken = false;
  private seq = 0;
  private view: Float32Array;
  /** Calls whose second half ran on the helper thread (diagnostics, tests). */
  helperCalls = 0;

  constructor() {
    const bytes = Buffer.from(PER_NEURON_WASM_BASE64, "base64");
    this.module = new Wasm.Module(bytes);
    this.memory = new Wasm.Memory({ initial: 256, maximum: 65536, shared: true });
    const instance = new Wasm.Instance(this.module, { env: { memory: this.memory } });
    this.exports = instance.exports as unknown as KernelExports;
    this.view = new Float32Array(this.memory.buffer);
  }

  /** A Float32Array over the whole memory, with at least `floats` floats (grows the memory). */
  heap(floats: number): Float32Array {
    const bytes = BASE + 4 * floats;
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / PAGE));
    if (this.view.buffer.byteLength !== this.memory.buffer.byteLength) {
      this.view = new Float32Array(this.memory.buffer);
    }
    return this.view;
  }

  private threadsEnabled(): boolean {
    return process.env.SGPROP_KERNEL_THREADS !== "1" && !this.broken;
  }

  private helper(): Worker | undefined {
    if (this.worker !== undefined) return Atomics.load(this.ctl, C_READY) === 1 ? this.worker : undefined;
    try {
      const w = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { module: this.module, memory: this.memory, ctl: this.ctl, names: FUNCTIONS },
      });
      w.unref();
      w.on("error", () => this.markBroken());
      w.on("exit", () => {
        if (this.worker === w) this.worker = undefined;
      });
      this.worker = w;
    } catch {
      this.broken = true;
    }
    // The helper starts asynchronously; until it is ready the caller computes everything.
    return undefined;
  }

  private markBroken(): void {
    this.broken = true;
    this.dispose();
  }

  /** Starts the helper thread now so that it is ready by the first large call. */
  prewarm(): void {
    if (this.threadsEnabled()) this.helper();
  }

  /** Stops the helper thread (a later call starts a new one). */
  dispose(): void {
    const w = this.worker;
    this.worker = undefined;
    if (w !== undefined) {
      Atomics.store(this.ctl, C_REQ, -1);
      Atomics.notify(this.ctl, C_REQ);
      void w.terminate();
      this.ctl = new Int32Array(new SharedArrayBuffer(16 * 4));
      this.seq = 0;
    }
  }

  /**
   * Runs kernel `name` over neurons [0, width): the upper half on the helper thread when it is
   * ready and the call is large enough, the rest here. `args` exclude the trailing (lo, hi).
   */
  run(name: KernelName, args: readonly number[], width: number, work: number): void {
    const fn = this.exports[name] as (...a: number[]) => void;
    const w = work >= MIN_PARALLEL_WORK && width > 1 && this.threadsEnabled() ? this.helper() : undefined;
    if (w === undefined) {
      fn(...args, 0, width);
      return;
    }
    const mid = width >> 1;
    const ctl = this.ctl;
    ctl[C_FN] = FUNCTIONS.indexOf(name);
    ctl.fill(0, C_ARGS, C_READY);
    ctl.set([...args, mid, width], C_ARGS);
    const seq = ++this.seq;
    Atomics.store(ctl, C_REQ, seq);
    Atomics.notify(ctl, C_REQ);
    fn(...args, 0, mid);
    const deadline = Date.now() + WAIT_MS;
    while (Atomics.load(ctl, C_DONE) !== seq && Date.now() < deadline) {
      Atomics.wait(ctl, C_DONE, Atomics.load(ctl, C_DONE), 1000);
    }
    if (Atomics.load(ctl, C_DONE) !== seq || Atomics.load(ctl, C_STATUS) !== 1) {
      // Lost or failed: never use the helper again, and compute its half here.
      this.markBroken();
      fn(...args, mid, width);
      return;
    }
    this.helperCalls++;
  }
}

let runtime: KernelRuntime | undefined;

function rt(): KernelRuntime {
  runtime ??= new KernelRuntime();
  return runtime;
}

/** Starts the kernels' helper thread early (it takes a few milliseconds to come up). */
export function prewarmPerNeuronSimd(): void {
  rt().prewarm();
}

/** Stops the kernels' helper thread, if any. */
export function disposePerNeuronSimd(): void {
  runtime?.dispose();
}

/** How many kernel calls used the helper thread so far in this process. */
export function perNeuronSimdHelperCalls(): number {
  return runtime?.helperCalls ?? 0;
}

/** A per-neuron weight for {@link simdMatVecs}: [W, D, K], or [W, K, D] when `transposed`. */
export interface SimdWeight {
  readonly data: Float32Array;
  readonly k: number;
  readonly transposed: boolean;
}

/** Allocates consecutive 16-byte-aligned float regions after BASE; returns float offsets. */
function layout(sizes: readonly number[]): { offsets: number[]; total: number } {
  const offsets: number[] = [];
  let at = 0;
  for (const s of sizes) {
    offsets.push(BASE / 4 + at);
    at += Math.ceil((s + SLACK) / 4) * 4;
  }
  return { offsets, total: at };
}

/**
 * z_j[n, i, k] = sum_d u[n, i, d] w_j[i, d, k] for every weight j: u is [N, W, D] (row-major),
 * results are [N, W, K_j].
 */
export function simdMatVecs(
  u: Float32Array,
  n: number,
  width: number,
  d: number,
  weights: readonly SimdWeight[],
): Float32Array[] {
  const r = rt();
  const kps = weights.map((w) => Math.ceil(w.k / 12) * 12);
  const sizes = [u.length, ...weights.map((w) => w.data.length)];
  sizes.push(...kps.map((kp) => width * d * kp), ...weights.map((w) => n * width * w.k));
  const { offsets, total } = layout(sizes);
  const heap = r.heap(total);
  const nw = weights.length;
  heap.set(u, offsets[0] as number);
  const out: Float32Array[] = [];
  weights.forEach((w, j) => {
    const raw = offsets[1 + j] as number;
    const packed = offsets[1 + nw + j] as number;
    const z = offsets[1 + 2 * nw + j] as number;
    const kp = kps[j] as number;
    heap.set(w.data, raw);
    r.run(
      "pn_pack",
      [raw * 4, packed * 4, width, d, w.k, kp, 0, w.transposed ? 1 : 0],
      width,
      width * d * w.k,
    );
    r.run(
      "pn_matvec",
      [(offsets[0] as number) * 4, packed * 4, z * 4, n, width, d, w.k, kp],
      width,
      n * width * d * w.k,
    );
    out.push(r.heap(total).slice(z, z + n * width * w.k));
  });
  return out;
}

/** o[i, k, d] = sum_n a[n, i, k] u[n, i, d]: a [N, W, K], u [N, W, D] -> [W, K, D]. */
export function simdOuter(
  a: Float32Array,
  u: Float32Array,
  n: number,
  width: number,
  k: number,
  d: number,
): Float32Array {
  const r = rt();
  const { offsets, total } = layout([a.length, u.length, width * k * d]);
  const [ao, uo, oo] = offsets as [number, number, number];
  const heap = r.heap(total);
  heap.set(a, ao);
  heap.set(u, uo);
  r.run("pn_outer", [ao * 4, uo * 4, oo * 4, n, width, k, d], width, n * width * k * d);
  return r.heap(total).slice(oo, oo + width * k * d);
}

/** What {@link simdForwardHidden} needs of a feed-forward SparseNet (SPEC 4.2), as host arrays. */
export interface SimdForwardNet {
  readonly inputDim: number;
  readonly numLayers: number;
  readonly width: number;
  readonly neuronDim: number;
  readonly numSlots: number;
  readonly numParents: number;
  readonly residual: boolean;
  /** [W, nd] pixel indices of layer 0. */
  readonly firstLayerInputIdx: Int32Array;
  /** [L-1, W, P] parents. */
  readonly parentIdx: Int32Array;
  /** Per layer: keys [W, M, nd], slot maps [W, M q, nd], slot biases [W, M q]. */
  readonly keys: readonly Float32Array[];
  readonly maps: readonly Float32Array[];
  readonly biases: readonly Float32Array[];
}

// Word indices of pn_forward's parameter block (kernels/perNeuron.c).
const F_FIELDS = 16;

/**
 * The last hidden layer h_{L-1} [N, W q] for contexts x [N, X], in one fused kernel per sample
 * range (gather, contraction, routing softmax, tanh, slot mixture and residual never leave the
 * cache). Same mathematics as the tfjs forward pass; values agree to float32 rounding (tested).
 */
export function simdForwardHidden(net: SimdForwardNet, x: Float32Array, n: number): Float32Array {
  const { width: w, numSlots: m, neuronDim: q, numParents: p, numLayers: L } = net;
  const nd = p * q;
  const ka = Math.ceil(m / 4) * 4;
  const kp = Math.ceil((ka + m * q) / 12) * 12;
  const scratchFloats = 4 * (nd + 12) + 4 * kp + 4 * (q + 4) + 16;
  const sizes = [
    F_FIELDS + 2 * L,
    x.length,
    n * w * q,
    n * w * q,
    net.firstLayerInputIdx.length,
    Math.max(1, net.parentIdx.length),
    2 * scratchFloats,
  ];
  for (let l = 0; l < L; l++) sizes.push(net.keys[l]?.length ?? 0, net.maps[l]?.length ?? 0);
  for (let l = 0; l < L; l++) sizes.push(w * nd * kp, m * q * w);
  const r = rt();
  const { offsets, total } = layout(sizes);
  const heap = r.heap(total);
  const ints = new Int32Array(heap.buffer);
  const at = (j: number): number => offsets[j] as number;
  const [prm, xo, hout, htmp, firstO, parentO, scratch] = offsets as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  heap.set(x, xo);
  ints.set(net.firstLayerInputIdx, firstO);
  ints.set(net.parentIdx, parentO);
  const scale = 1 / Math.sqrt(nd);
  for (let l = 0; l < L; l++) {
    const keysO = at(7 + 2 * l);
    const mapsO = at(8 + 2 * l);
    const packed = at(7 + 2 * L + 2 * l);
    const biasO = at(8 + 2 * L + 2 * l);
    const keys = net.keys[l] as Float32Array;
    for (let j = 0; j < keys.length; j++) heap[keysO + j] = (keys[j] as number) * scale;
    heap.set(net.maps[l] as Float32Array, mapsO);
    heap.set(net.biases[l] as Float32Array, biasO);
    r.run("pn_pack", [keysO * 4, packed * 4, w, nd, m, kp, 0, 1], w, w * nd * m);
    r.run("pn_pack", [mapsO * 4, packed * 4, w, nd, m * q, kp, ka, 1], w, w * nd * m * q);
    ints[prm + F_FIELDS + l] = packed * 4;
    ints[prm + F_FIELDS + L + l] = biasO * 4;
  }
  ints.set(
    [
      w,
      m,
      q,
      p,
      nd,
      L,
      net.inputDim,
      net.residual ? 1 : 0,
      kp,
      xo * 4,
      hout * 4,
      htmp * 4,
      firstO * 4,
      parentO * 4,
      scratch * 4,
      scratchFloats,
    ],
    prm,
  );
  r.run("pn_forward", [prm * 4], n, n * L * w * nd * kp);
  return r.heap(total).slice(hout, hout + n * w * q);
}
