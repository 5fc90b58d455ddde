/**
 * The WebAssembly SIMD kernels' runtime (kernels/*.c, embedded in wasmKernels.ts): one shared
 * linear memory, the kernels instantiated on this thread and on one helper thread, a split of
 * every call's range between the two, and an allocator for arrays that live in the memory across
 * calls.
 *
 * Why kernels of our own: the SparseNet models spend their FLOPs in W independent small GEMMs (one
 * per neuron), which tfjs-wasm runs through generic batched kernels at 3-6 GFLOP/s, while
 * register-blocked f32x4 loops reach about 20 GFLOP/s per core here; and tfjs is single-threaded
 * in Node. Each output element is computed by exactly one thread with a fixed summation order, so
 * the numbers do not depend on the number of threads (tested). `SGPROP_CORE_THREADS=1` keeps
 * everything on the calling thread.
 */
import { Worker } from "node:worker_threads";
import { WASM_KERNELS_BASE64 } from "./wasmKernels.js";

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

/** Every exported kernel takes numbers (sizes and byte offsets) and ends with a range (lo, hi). */
export const KERNELS = [
  "pn_pack",
  "pn_matvec",
  "pn_outer",
  "pn_forward",
  "ff_forward",
  "ff_sg_refresh",
  "ff_mix",
  "ff_backward",
  "ff_scatter",
  "ff_pack_wcat",
  "ff_sg_grad",
  "adam_step",
  "pn_dense_outer",
  "pn_dense_mv",
  "pn_dense_transpose",
  "pn_dense_tanh",
] as const;
export type KernelName = (typeof KERNELS)[number];
type KernelFn = (...args: number[]) => void;

const PAGE = 65536;
/** Bytes reserved at the start of memory (offset 0 stays unused, as a null pointer). */
const BASE = 1024;
/** Floats of slack after every buffer: the outer-product kernel reads up to 11 past its input. */
const SLACK = 16;
/** Multiply-adds below which a second thread costs more than it saves (a wake-up is ~20 us). */
const MIN_PARALLEL_WORK = 200_000;
/** A helper thread that has not answered in this long is considered lost. */
const WAIT_MS = 120_000;

// Control block shared with the helper thread (int32 words).
const C_REQ = 0; // sequence number of the current request (the helper waits on it); -1 = exit
const C_DONE = 1; // last request the helper finished
const C_STATUS = 2; // 1 = ok, 2 = a kernel threw on the helper
const C_FN = 3;
const C_NEXT = 4; // next chunk index, taken with Atomics.add by both threads
const C_CHUNK = 5;
const C_WIDTH = 6;
const C_CLAIM = 7; // 2 s = request s open to the helper, 2 s + 1 = joined, -1 = closed
const C_NARGS = 8;
const C_ARGS = 9;
const CTL_WORDS = 32;
const C_READY = CTL_WORDS - 1;
/** Chunks per call: enough for one thread to take over when the other is descheduled. */
const CHUNKS = 16;

const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const { module, memory, ctl, names } = workerData;
const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
const fns = names.map((n) => ex[n]);
Atomics.store(ctl, ${C_READY}, 1);
let seen = 0;
for (;;) {
  Atomics.wait(ctl, ${C_REQ}, seen);
  const s = Atomics.load(ctl, ${C_REQ});
  if (s < 0) break;
  seen = s;
  // Join only a request that is still open (the caller may have finished it alone).
  if (Atomics.compareExchange(ctl, ${C_CLAIM}, 2 * s, 2 * s + 1) !== 2 * s) continue;
  let status = 1;
  try {
    const fn = fns[ctl[${C_FN}]];
    const args = Array.from(ctl.subarray(${C_ARGS}, ${C_ARGS} + ctl[${C_NARGS}]));
    const width = ctl[${C_WIDTH}];
    const chunk = ctl[${C_CHUNK}];
    for (;;) {
      const lo = Atomics.add(ctl, ${C_NEXT}, 1) * chunk;
      if (lo >= width) break;
      fn(...args, lo, Math.min(width, lo + chunk), 1);
    }
  } catch {
    status = 2;
  }
  Atomics.store(ctl, ${C_STATUS}, status);
  Atomics.store(ctl, ${C_DONE}, s);
  Atomics.notify(ctl, ${C_DONE});
}
`;

class KernelRuntime {
  readonly memory: WasmMemory;
  private readonly fns: Record<KernelName, KernelFn>;
  private readonly module: object;
  private ctl = new Int32Array(new SharedArrayBuffer(CTL_WORDS * 4));
  private worker: Worker | undefined;
  private broken = false;
  private seq = 0;
  private view: Float32Array;
  /** Calls whose second half ran on the helper thread (diagnostics, tests). */
  helperCalls = 0;
  /** End (float offset) of the persistent blocks; transient arrays start here. */
  private top = BASE / 4;
  /** Persistent blocks by float offset, with their sizes and whether they are free. */
  private readonly blocks: { offset: number; size: number; free: boolean }[] = [];

  /**
   * Reserves `floats` floats (plus slack, 16-byte aligned) that stay valid until {@link free};
   * returns their float offset. First fit over freed blocks, else at the top.
   */
  alloc(floats: number): number {
    const size = Math.ceil((floats + SLACK) / 4) * 4;
    const hole = this.blocks.find((b) => b.free && b.size >= size);
    if (hole !== undefined) {
      hole.free = false;
      return hole.offset;
    }
    const offset = this.top;
    this.top += size;
    this.blocks.push({ offset, size, free: false });
    this.heap(0);
    return offset;
  }

  /** Releases a block from {@link alloc} (the top shrinks when the last blocks are free). */
  free(offset: number): void {
    const b = this.blocks.find((x) => x.offset === offset);
    if (b === undefined || b.free) throw new Error(`kernel memory: no allocated block at ${offset}`);
    b.free = true;
    while (this.blocks.length > 0 && (this.blocks[this.blocks.length - 1] as { free: boolean }).free) {
      this.top = (this.blocks.pop() as { offset: number }).offset;
    }
  }

  constructor() {
    const bytes = Buffer.from(WASM_KERNELS_BASE64, "base64");
    this.module = new Wasm.Module(bytes);
    this.memory = new Wasm.Memory({ initial: 256, maximum: 65536, shared: true });
    const instance = new Wasm.Instance(this.module, { env: { memory: this.memory } });
    const exports = instance.exports as Record<string, KernelFn>;
    this.fns = Object.fromEntries(KERNELS.map((k) => [k, exports[k] as KernelFn])) as Record<
      KernelName,
      KernelFn
    >;
    this.view = new Float32Array(this.memory.buffer);
  }

  /** Float offset where transient (per-call) arrays start: after every persistent block. */
  transientBase(): number {
    return this.top;
  }

  /**
   * A Float32Array over the whole memory, holding at least `floats` floats past the transient
   * base (grows the memory; views taken before a growth are stale, so take a new one after).
   */
  heap(floats: number): Float32Array {
    const bytes = 4 * (this.top + floats);
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / PAGE));
    if (this.view.buffer.byteLength !== this.memory.buffer.byteLength) {
      this.view = new Float32Array(this.memory.buffer);
    }
    return this.view;
  }

  private threadsEnabled(): boolean {
    return process.env.SGPROP_CORE_THREADS !== "1" && !this.broken;
  }

  private helper(): Worker | undefined {
    if (this.worker !== undefined) return Atomics.load(this.ctl, C_READY) === 1 ? this.worker : undefined;
    try {
      const w = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { module: this.module, memory: this.memory, ctl: this.ctl, names: KERNELS },
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
      this.ctl = new Int32Array(new SharedArrayBuffer(CTL_WORDS * 4));
      this.seq = 0;
    }
  }

  /**
   * Runs kernel `name` over [0, width) (neurons, samples, rows or elements, as the kernel says).
   * `args` exclude the trailing (lo, hi, slot). With the helper thread ready and enough work, the
   * range is cut into chunks that both threads take from a shared counter, so a descheduled
   * thread delays nothing: the other takes the remaining chunks. Every kernel writes each output
   * element from one range element only, so which thread takes a chunk does not change a bit.
   */
  run(name: KernelName, args: readonly number[], width: number, work: number): void {
    const fn = this.fns[name];
    const w = work >= MIN_PARALLEL_WORK && width > 1 && this.threadsEnabled() ? this.helper() : undefined;
    if (w === undefined) {
      fn(...args, 0, width, 0);
      return;
    }
    const chunk = Math.ceil(Math.ceil(width / CHUNKS) / 4) * 4;
    const ctl = this.ctl;
    const seq = ++this.seq;
    ctl[C_FN] = KERNELS.indexOf(name);
    ctl[C_NARGS] = args.length;
    ctl.set(args, C_ARGS);
    ctl[C_WIDTH] = width;
    ctl[C_CHUNK] = chunk;
    Atomics.store(ctl, C_NEXT, 0);
    Atomics.store(ctl, C_CLAIM, 2 * seq);
    Atomics.store(ctl, C_REQ, seq);
    Atomics.notify(ctl, C_REQ);
    try {
      for (;;) {
        const lo = Atomics.add(ctl, C_NEXT, 1) * chunk;
        if (lo >= width) break;
        fn(...args, lo, Math.min(width, lo + chunk), 0);
      }
    } catch (e) {
      // Take the remaining chunks off the helper and let it finish before the next request.
      Atomics.store(ctl, C_NEXT, width);
      if (Atomics.compareExchange(ctl, C_CLAIM, 2 * seq, -1) !== 2 * seq) this.awaitHelper(seq);
      throw e;
    }
    // Close the request; if the helper joined, wait for the chunk it holds.
    if (Atomics.compareExchange(ctl, C_CLAIM, 2 * seq, -1) === 2 * seq) return;
    if (!this.awaitHelper(seq) || Atomics.load(ctl, C_STATUS) !== 1) {
      // Outputs may be partial (some kernels update in place), so this is an error, not a retry.
      const why = Atomics.load(ctl, C_DONE) === seq ? "failed" : "timed out";
      this.markBroken();
      throw new Error(`kernel ${name} ${why} on the helper thread`);
    }
    this.helperCalls++;
  }

  /** Waits until the helper has finished request `seq`; false after the time limit. */
  private awaitHelper(seq: number): boolean {
    const ctl = this.ctl;
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      // Wait on the value just checked: reading it again for the wait could already see `seq`
      // and then sleep through the helper's notification.
      const done = Atomics.load(ctl, C_DONE);
      if (done === seq || Date.now() >= deadline) break;
      Atomics.wait(ctl, C_DONE, done, 1000);
    }
    return Atomics.load(ctl, C_DONE) === seq;
  }
}

let runtime: KernelRuntime | undefined;

/** The process-wide kernel runtime (created on first use). */
export function kernelRuntime(): KernelRuntime {
  runtime ??= new KernelRuntime();
  return runtime;
}

export type { KernelRuntime };

/** Starts the kernels' helper thread early (it takes a few milliseconds to come up). */
export function prewarmKernelThreads(): void {
  kernelRuntime().prewarm();
}

/** Stops the kernels' helper thread, if any (a later call starts a new one). */
export function disposeKernelThreads(): void {
  runtime?.dispose();
}

/** How many kernel calls used the helper thread so far in this process. */
export function kernelHelperCalls(): number {
  return runtime?.helperCalls ?? 0;
}

/**
 * Places consecutive transient arrays (with slack, 16-byte aligned) after the persistent blocks;
 * returns their float offsets and the floats needed past the transient base.
 */
export function transientLayout(sizes: readonly number[]): { offsets: number[]; total: number } {
  const base = kernelRuntime().transientBase();
  const offsets: number[] = [];
  let at = 0;
  for (const s of sizes) {
    offsets.push(base + at);
    at += Math.ceil((s + SLACK) / 4) * 4;
  }
  return { offsets, total: at };
}
