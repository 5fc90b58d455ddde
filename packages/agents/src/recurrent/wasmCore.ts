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

interface Exports {
  matvec(
    u: number,
    us: number,
    uis: number,
    w: number,
    len: number,
    cp: number,
    z: number,
    zs: number,
    zis: number,
    n: number,
    nn: number,
  ): void;
  outer_acc(x: number, y: number, g: number, n: number, cols: number, lenp: number): void;
}

/** Rounds up to a multiple of 8 (the kernels' column blocks). */
export function pad8(n: number): number {
  return (n + 7) & ~7;
}

/**
 * Buffers of one layout: f64 regions first, then f32 regions, each 16-byte aligned. Their contents
 * are left from earlier use: callers write what they read (the kernels' padding columns only ever
 * meet padding columns, whose results are never read).
 */
export interface CoreLayout {
  readonly f64: Float64Array[];
  readonly f32: Float32Array[];
  /** The arena's generation when laid out (views stay valid while it is unchanged). */
  readonly generation: number;
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
  layout(f64Lengths: readonly number[], f32Lengths: readonly number[]): CoreLayout {
    const align = (x: number) => (x + 15) & ~15;
    const offsets64: number[] = [];
    const offsets32: number[] = [];
    // Byte 0 stays unused, so no region has the null address.
    let at = 16;
    for (const n of f64Lengths) {
      offsets64.push(at);
      at = align(at + n * 8);
    }
    for (const n of f32Lengths) {
      offsets32.push(at);
      at = align(at + n * 4);
    }
    const have = this.memory.buffer.byteLength;
    if (at > have) this.memory.grow(Math.ceil((at - have) / PAGE));
    const buf = this.memory.buffer;
    this.generation++;
    return {
      f64: f64Lengths.map((n, k) => new Float64Array(buf, offsets64[k] as number, n)),
      f32: f32Lengths.map((n, k) => new Float32Array(buf, offsets32[k] as number, n)),
      generation: this.generation,
    };
  }

  /**
   * For neurons i < nn and rows r < n: z[r][c] = sum_{k<len} u[r][k] w[k][c], c < cp (cp a
   * multiple of 8). `u`, `w`, `z` are views from {@link layout} with element offsets; `us`/`zs` are
   * row strides and `uis`/`zis` neuron strides (elements); w is [nn][len][cp].
   */
  matvec(
    u: Float32Array,
    uOff: number,
    us: number,
    uis: number,
    w: Float32Array,
    len: number,
    cp: number,
    z: Float32Array,
    zOff: number,
    zs: number,
    zis: number,
    n: number,
    nn: number,
  ): void {
    this.ex.matvec(
      u.byteOffset + 4 * uOff,
      us,
      uis,
      w.byteOffset,
      len,
      cp,
      z.byteOffset + 4 * zOff,
      zs,
      zis,
      n,
      nn,
    );
  }

  /** g[c][k] += sum_{r<n} x[r][c] y[r][k] (x [n][cols], y [n][lenp], g [cols][lenp] f64; lenp % 8 = 0). */
  outerAcc(
    x: Float32Array,
    y: Float32Array,
    yOff: number,
    g: Float64Array,
    n: number,
    cols: number,
    lenp: number,
  ): void {
    this.ex.outer_acc(x.byteOffset, y.byteOffset + 4 * yOff, g.byteOffset, n, cols, lenp);
  }
}

let instance: CoreWasm | undefined;

/** This thread's kernel instance (created on first use). */
export function coreWasm(): CoreWasm {
  instance ??= new CoreWasm();
  return instance;
}
