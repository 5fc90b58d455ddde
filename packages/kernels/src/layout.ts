/**
 * Typed views on blocks of the kernels' shared memory: a host wrapper lays out the arrays a kernel
 * call reads and writes in one block from the runtime's allocator, fills them, runs the kernel
 * and reads its results, then releases the block.
 */
import { kernelRuntime } from "./runtime.js";

/** Lengths (in elements) of the arrays of one layout, by element type. */
export interface LayoutSpec {
  readonly f64?: readonly number[];
  readonly f32?: readonly number[];
  readonly i32?: readonly number[];
}

/**
 * Arrays of one layout, each 16-byte aligned, in the shared memory. Their contents are left from
 * earlier use: callers write what the kernel reads (the kernels' padding columns only ever meet
 * padding columns, whose results are never read).
 */
export interface KernelLayout {
  readonly f64: Float64Array[];
  readonly f32: Float32Array[];
  readonly i32: Int32Array[];
  /** Gives the block back to the allocator (the views must not be used afterwards). */
  release(): void;
}

/** Rounds up to a multiple of 8 (the core kernels' column blocks). */
export function pad8(n: number): number {
  return (n + 7) & ~7;
}

/** Byte address of element `offset` of a view on the kernels' memory (a kernel argument). */
export function addr(view: Float32Array | Float64Array | Int32Array, offset = 0): number {
  return view.byteOffset + view.BYTES_PER_ELEMENT * offset;
}

/** Allocates one block holding arrays of the given lengths. */
export function allocLayout(spec: LayoutSpec): KernelLayout {
  const align = (x: number) => (x + 15) & ~15;
  let at = 0;
  const place = (lengths: readonly number[] | undefined, bytes: number) =>
    (lengths ?? []).map((n) => {
      const o = at;
      at = align(at + n * bytes);
      return o;
    });
  const o64 = place(spec.f64, 8);
  const o32 = place(spec.f32, 4);
  const oi = place(spec.i32, 4);
  const rt = kernelRuntime();
  const offset = rt.alloc(at / 4);
  const base = offset * 4;
  const buf = rt.buffer();
  let live = true;
  return {
    f64: (spec.f64 ?? []).map((n, k) => new Float64Array(buf, base + (o64[k] as number), n)),
    f32: (spec.f32 ?? []).map((n, k) => new Float32Array(buf, base + (o32[k] as number), n)),
    i32: (spec.i32 ?? []).map((n, k) => new Int32Array(buf, base + (oi[k] as number), n)),
    release: () => {
      if (live) rt.free(offset);
      live = false;
    },
  };
}
