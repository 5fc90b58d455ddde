/**
 * Host side of the neuron core's WebAssembly SIMD kernels (wasm/coreKernels.c, embedded as base64
 * in wasm/coreKernelsWasm.ts, rebuilt by wasm/build.sh).
 *
 * Each thread (the main thread and the core worker) has its own instance with its own private
 * linear memory: a core phase lays out the buffers it needs there once ({@link CoreWasm.layout}),
 * copies its inputs in, runs the kernels and reads the results out. The copies are linear in the
 * data while the kernels do 36-48 multiply-adds per value copied, and everything else (the
 * SharedArrayBuffer hand-off between threads, the loops around the kernels) stays as it was.
 */
import { CORE_KERNELS_WASM_BASE64 } from "./wasm/coreKernelsWasm.js";

const PAGE = 65536;

/** The part of the WebAssembly JS API used here (the ES2023 + node type libraries do not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Memory: new (d: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { readonly exports: object };
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The kernels' exports: every argument is an i32 (sizes, byte addresses) or an f64. */
type Exports = Readonly<Record<string, (...args: number[]) => void>>;

/** Rounds up to a multiple of 8 (the kernels' column blocks). */
export function pad8(n: number): number {
  return (n + 7) & ~7;
}

/**
 * Buffers of one layout, each 16-byte aligned. Their contents are left from earlier use: callers
 * write what they read (the kernels' padding columns only ever meet padding columns, whose results
 * are never read).
 */
export interface CoreLayout {
  readonly f64: Float64Array[];
  readonly f32: Float32Array[];
  readonly i32: Int32Array[];
  /** The arena's generation when laid out (views stay valid while it is unchanged). */
  readonly generation: number;
}

export interface LayoutSpec {
  readonly f64?: readonly number[];
  readonly f32?: readonly number[];
  readonly i32?: readonly number[];
}

/** Byte address of element `offset` of a view on the kernels' memory. */
export function addr(view: Float32Array | Float64Array | Int32Array, offset = 0): number {
  return view.byteOffset + view.BYTES_PER_ELEMENT * offset;
}

export class CoreWasm {
  private readonly memory: WasmMemory;
  private readonly ex: Exports;
  /** Incremented by every layout: a holder of views checks it before reusing them. */
  generation = 0;

  constructor() {
    const bytes = Buffer.from(CORE_KERNELS_WASM_BASE64, "base64");
    this.memory = new Wasm.Memory({ initial: 16 });
    const instance = new Wasm.Instance(new Wasm.Module(bytes), {
      env: { memory: this.memory },
    });
    this.ex = instance.exports as unknown as Exports;
  }

  /** Lays out regions of the given lengths (growing the memory once if needed). */
  layout(spec: LayoutSpec): CoreLayout {
    const align = (x: number) => (x + 15) & ~15;
    // Byte 0 stays unused, so no region has the null address.
    let at = 16;
    const place = (lengths: readonly number[] | undefined, bytes: number) =>
      (lengths ?? []).map((n) => {
        const o = at;
        at = align(at + n * bytes);
        return o;
      });
    const o64 = place(spec.f64, 8);
    const o32 = place(spec.f32, 4);
    const oi = place(spec.i32, 4);
    const have = this.memory.buffer.byteLength;
    if (at > have) this.memory.grow(Math.ceil((at - have) / PAGE));
    const buf = this.memory.buffer;
    this.generation++;
    return {
      f64: (spec.f64 ?? []).map((n, k) => new Float64Array(buf, o64[k] as number, n)),
      f32: (spec.f32 ?? []).map((n, k) => new Float32Array(buf, o32[k] as number, n)),
      i32: (spec.i32 ?? []).map((n, k) => new Int32Array(buf, oi[k] as number, n)),
      generation: this.generation,
    };
  }

  /** Calls kernel `name` of coreKernels.c (byte addresses from {@link addr}). */
  call(name: string, ...args: number[]): void {
    const f = this.ex[name];
    if (f === undefined) throw new Error(`core kernel ${name} is missing from the WebAssembly module`);
    f(...args);
  }
}

let instance: CoreWasm | undefined;

/** This thread's kernel instance (created on first use). */
export function coreWasm(): CoreWasm {
  instance ??= new CoreWasm();
  return instance;
}
