/**
 * The one runtime of the WebAssembly SIMD kernels (src/kernels/*.c, one module embedded in
 * generated/kernelsWasm.ts): one shared linear memory with an allocator, the module instantiated
 * on this thread and on one helper thread, and every call's range [0, width) cut into chunks that
 * both threads take from a shared counter.
 *
 * Why kernels of our own: the SparseNet models spend their FLOPs in W independent small GEMMs (one
 * per neuron), which tfjs-wasm runs through generic batched kernels at 3-6 GFLOP/s, while
 * register-blocked f32x4 loops reach about 20 GFLOP/s per core here; and tfjs is single-threaded
 * in Node. Each output element is computed by exactly one chunk with a fixed summation order, so
 * the numbers do not depend on the number of threads (tested). `SGPROP_CORE_THREADS=1` keeps
 * everything on the calling thread.
 *
 * Calls are synchronous ({@link KernelRuntime.run}) or started ({@link KernelRuntime.start}): a
 * started call is queued for the helper at once and completed by `finish()`, in which this thread
 * takes the chunks the helper has not taken yet, so this thread can do other work meanwhile.
 */
import { Worker } from "node:worker_threads";
import { KERNELS_WASM_BASE64 } from "./generated/kernelsWasm.js";

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

/**
 * Every exported kernel takes numbers (sizes and byte offsets) and ends with a range (lo, hi) and
 * the calling thread's slot (0 here, 1 on the helper). The core kernels (`*_halves`) take one
 * argument, the byte offset of their task blocks (see include/core.h and coreTasks.ts).
 */
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
  "forward_step_halves",
  "predictions_halves",
  "backward_halves",
  "sg_loss_halves",
  "estimator_halves",
  "rollout_halves",
] as const;
export type KernelName = (typeof KERNELS)[number];
type KernelFn = (...args: number[]) => void;

const PAGE = 65536;
/** Bytes reserved at the start of memory (offset 0 stays unused, as a null pointer). */
const BASE = 1024;
/** Floats of slack after every buffer: the outer-product kernel reads up to 11 past its input. */
export const SLACK = 16;
/** Multiply-adds below which a second thread costs more than it saves (a wake-up is ~20 us). */
const MIN_PARALLEL_WORK = 200_000;
/** A helper thread that has not answered in this long is considered lost. */
const WAIT_MS = 120_000;
/** Chunks per synchronous call: enough for one thread to take over when the other is descheduled. */
const CHUNKS = 16;

// Control block shared with the helper thread (int32 words): a ring of request slots.
const C_REQ = 0; // sequence number of the last request posted (the helper waits on it); -1 = exit
const C_AT = 1; // last request the helper has passed (its slot may then be reused)
const C_READY = 2;
const SLOTS = 8;
const SLOT0 = 4;
const SLOT_WORDS = 32;
// Words of a slot.
const S_SEQ = 0; // the request the slot holds
const S_FN = 1;
const S_WIDTH = 2;
const S_CHUNK = 3;
const S_NEXT = 4; // next chunk index, taken with Atomics.add by both threads
const S_DONE = 5; // chunks finished (by either thread)
const S_FAILED = 6; // 1 when a kernel threw on the helper
const S_NARGS = 7;
const S_ARGS = 8;
const CTL_WORDS = SLOT0 + SLOTS * SLOT_WORDS;

const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const { module, memory, ctl, names } = workerData;
const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
const fns = names.map((n) => ex[n]);
Atomics.store(ctl, ${C_READY}, 1);
let at = 0;
for (;;) {
  const req = Atomics.load(ctl, ${C_REQ});
  if (req < 0) break;
  if (req === at) {
    Atomics.wait(ctl, ${C_REQ}, at);
    continue;
  }
  const s = at + 1;
  const b = ${SLOT0} + (s % ${SLOTS}) * ${SLOT_WORDS};
  if (Atomics.load(ctl, b + ${S_SEQ}) === s) {
    const fn = fns[ctl[b + ${S_FN}]];
    const args = Array.from(ctl.subarray(b + ${S_ARGS}, b + ${S_ARGS} + ctl[b + ${S_NARGS}]));
    const width = ctl[b + ${S_WIDTH}];
    const chunk = ctl[b + ${S_CHUNK}];
    const chunks = Math.ceil(width / chunk);
    for (;;) {
      const c = Atomics.add(ctl, b + ${S_NEXT}, 1);
      if (c >= chunks) break;
      try {
        fn(...args, c * chunk, Math.min(width, (c + 1) * chunk), 1);
      } catch {
        Atomics.store(ctl, b + ${S_FAILED}, 1);
      }
      if (Atomics.add(ctl, b + ${S_DONE}, 1) + 1 === chunks) Atomics.notify(ctl, b + ${S_DONE});
    }
  }
  at = s;
  Atomics.store(ctl, ${C_AT}, s);
  Atomics.notify(ctl, ${C_AT});
}
`;

/** A started kernel call: `finish()` completes it on this thread (idempotent). */
export interface PendingKernel {
  finish(): void;
}

/** How a call is split: chunks of `chunk` range elements, on two threads only when `parallel`. */
export interface StartOptions {
  readonly chunk: number;
  readonly parallel: boolean;
}

class KernelRuntime {
  readonly memory: WasmMemory;
  private readonly fns: Record<KernelName, KernelFn>;
  private readonly module: object;
  private ctl = new Int32Array(new SharedArrayBuffer(CTL_WORDS * 4));
  private worker: Worker | undefined;
  private broken = false;
  private seq = 0;
  /** Posted requests not finished yet (finished in any order). */
  private readonly open = new Set<number>();
  private view: Float32Array;
  /** Calls of which the helper thread computed at least one chunk (diagnostics, tests). */
  helperCalls = 0;
  /** Chunks the helper thread computed (diagnostics, tests). */
  helperChunks = 0;
  /** End (float offset) of the persistent blocks; transient arrays start here. */
  private top = BASE / 4;
  /** Persistent blocks by float offset, with their sizes and whether they are free. */
  private readonly blocks: { offset: number; size: number; free: boolean }[] = [];

  constructor() {
    const bytes = Buffer.from(KERNELS_WASM_BASE64, "base64");
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

  /** Float offset where transient (per-call) arrays start: after every persistent block. */
  transientBase(): number {
    return this.top;
  }

  /**
   * A Float32Array over the whole memory, holding at least `floats` floats past the transient
   * base (grows the memory). The memory is shared, so views taken before a growth stay valid over
   * the part they cover.
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

  /** The memory's current buffer (after {@link heap} or {@link alloc} made it large enough). */
  buffer(): SharedArrayBuffer {
    return this.memory.buffer as SharedArrayBuffer;
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

  /**
   * Stops a failed helper for good: later calls run on this thread. Started calls stay open, so
   * that their `finish()` computes what is left or reports the chunks the helper never finished.
   */
  private markBroken(): void {
    this.broken = true;
    this.stopWorker();
  }

  /** Starts the helper thread now so that it is ready by the first large call. */
  prewarm(): void {
    if (this.threadsEnabled()) this.helper();
  }

  /** Tells the helper thread to exit and terminates it. */
  private stopWorker(): void {
    const w = this.worker;
    this.worker = undefined;
    if (w !== undefined) {
      Atomics.store(this.ctl, C_REQ, -1);
      Atomics.notify(this.ctl, C_REQ);
      void w.terminate();
    }
  }

  /** Stops the helper thread after finishing every started call (a later call starts a new one). */
  dispose(): void {
    for (const seq of [...this.open]) this.join(seq, undefined);
    this.stopWorker();
    this.ctl = new Int32Array(new SharedArrayBuffer(CTL_WORDS * 4));
    this.seq = 0;
  }

  /**
   * Runs kernel `name` over [0, width) (neurons, samples, rows or elements, as the kernel says).
   * `args` exclude the trailing (lo, hi, slot). With the helper thread ready and `work`
   * multiply-adds or more, the range is cut into chunks that both threads take from a shared
   * counter, so a descheduled thread delays nothing: the other takes the remaining chunks. Every
   * kernel writes each output element from one range element only, so which thread takes a chunk
   * does not change a bit.
   */
  run(name: KernelName, args: readonly number[], width: number, work: number): void {
    const chunk = Math.ceil(Math.ceil(width / CHUNKS) / 4) * 4;
    this.start(name, args, width, { chunk, parallel: work >= MIN_PARALLEL_WORK && width > chunk }).finish();
  }

  /**
   * Starts kernel `name` over [0, width) in chunks of `chunk`: when `parallel` and the helper is
   * ready, the call is queued for the helper now; `finish()` computes the chunks the helper has
   * not taken and waits for the others. Without the helper everything runs in `finish()`.
   */
  start(name: KernelName, args: readonly number[], width: number, opts: StartOptions): PendingKernel {
    const fn = this.fns[name];
    const w = opts.parallel && this.threadsEnabled() ? this.helper() : undefined;
    if (w === undefined || !this.slotFree()) {
      let done = false;
      return {
        finish: () => {
          if (done) return;
          done = true;
          fn(...args, 0, width, 0);
        },
      };
    }
    const seq = this.post(name, args, width, opts.chunk);
    return { finish: () => this.join(seq, name) };
  }

  /**
   * Whether the next request's slot may be written: its previous request is finished here and
   * behind the helper. When the helper lags that far (descheduled on a busy machine), calls run on
   * this thread rather than wait for it.
   */
  private slotFree(): boolean {
    const old = this.seq + 1 - SLOTS;
    return old <= 0 || (Atomics.load(this.ctl, C_AT) >= old && !this.open.has(old));
  }

  /** Writes request `seq + 1` into its (free) slot and wakes the helper; returns its number. */
  private post(name: KernelName, args: readonly number[], width: number, chunk: number): number {
    const seq = this.seq + 1;
    const ctl = this.ctl;
    const b = SLOT0 + (seq % SLOTS) * SLOT_WORDS;
    if (args.length > SLOT_WORDS - S_ARGS) throw new RangeError(`kernel ${name}: too many arguments`);
    ctl[b + S_FN] = KERNELS.indexOf(name);
    ctl[b + S_WIDTH] = width;
    ctl[b + S_CHUNK] = chunk;
    ctl[b + S_NARGS] = args.length;
    ctl.set(args, b + S_ARGS);
    Atomics.store(ctl, b + S_NEXT, 0);
    Atomics.store(ctl, b + S_DONE, 0);
    Atomics.store(ctl, b + S_FAILED, 0);
    Atomics.store(ctl, b + S_SEQ, seq);
    this.seq = seq;
    this.open.add(seq);
    Atomics.store(ctl, C_REQ, seq);
    Atomics.notify(ctl, C_REQ);
    return seq;
  }

  /** Takes the chunks of request `seq` the helper has not taken, then waits for the helper's. */
  private join(seq: number, name: KernelName | undefined): void {
    if (!this.open.delete(seq)) return;
    const ctl = this.ctl;
    const b = SLOT0 + (seq % SLOTS) * SLOT_WORDS;
    const fn = this.fns[KERNELS[ctl[b + S_FN] as number] as KernelName];
    const args = Array.from(ctl.subarray(b + S_ARGS, b + S_ARGS + (ctl[b + S_NARGS] as number)));
    const width = ctl[b + S_WIDTH] as number;
    const chunk = ctl[b + S_CHUNK] as number;
    const chunks = Math.ceil(width / chunk);
    let mine = 0;
    try {
      for (;;) {
        const c = Atomics.add(ctl, b + S_NEXT, 1);
        if (c >= chunks) break;
        fn(...args, c * chunk, Math.min(width, (c + 1) * chunk), 0);
        mine++;
        Atomics.add(ctl, b + S_DONE, 1);
      }
    } catch (e) {
      // Take the remaining chunks off the helper and let it finish the one it holds.
      const taken = Math.min(Atomics.exchange(ctl, b + S_NEXT, chunks), chunks);
      Atomics.add(ctl, b + S_DONE, chunks - taken + 1);
      this.awaitAtLeast(b + S_DONE, chunks);
      throw e;
    }
    if (!this.awaitAtLeast(b + S_DONE, chunks)) {
      this.markBroken();
      throw new Error(`kernel ${name ?? "call"} timed out on the helper thread`);
    }
    // A kernel that threw there (a trap) is this call's error; the helper itself is fine. Outputs
    // may be partial (some kernels update in place), so this is an error, not a retry.
    if (Atomics.load(ctl, b + S_FAILED) !== 0)
      throw new Error(`kernel ${name ?? "call"} failed on the helper thread`);
    if (mine < chunks) {
      this.helperCalls++;
      this.helperChunks += chunks - mine;
    }
  }

  /** Waits until control word `word` reaches `value`; false after the time limit. */
  private awaitAtLeast(word: number, value: number): boolean {
    const ctl = this.ctl;
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      // Wait on the value just checked: reading it again for the wait could already see the new
      // value and then sleep through the helper's notification.
      const now = Atomics.load(ctl, word);
      if (now >= value) return true;
      if (Date.now() >= deadline) break;
      Atomics.wait(ctl, word, now, 1000);
    }
    return false;
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

/** How many chunks the helper thread computed so far in this process (a core half is one chunk). */
export function kernelHelperChunks(): number {
  return runtime?.helperChunks ?? 0;
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
