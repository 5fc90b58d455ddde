/**
 * Test support for the feed-forward kernels (feedforward.c, mixing.c, thetaEstimator.c): builds
 * their parameter block (include/feedforward.h) in transient kernel memory and reads the outputs
 * back. Only the property tests beside those kernels use it.
 */
import type { Rng } from "@sgprop/gym";
import { expect } from "vitest";
import { type KernelName, kernelRuntime, transientLayout } from "../runtime.js";

/** The words of the parameter block, in the order of enum FB_* in include/feedforward.h. */
const FB_KEYS = [
  "N",
  "W",
  "M",
  "Q",
  "P",
  "D",
  "KP",
  "DP",
  "KPS",
  "RESIDUAL",
  "LAYER0",
  "WITH_SG",
  "XDIM",
  "MODE",
  "ADAPTIVE",
  "NEED_PARAMS",
  "NEED_DU",
  "SRC",
  "IDX",
  "WP",
  "B",
  "SGB",
  "WSG",
  "WCAT",
  "U",
  "ALPHA",
  "Y",
  "H",
  "TANH",
  "SGLIN",
  "SGPRED",
  "G",
  "DZ",
  "DW",
  "DB",
  "DU",
  "DHPREV",
  "GTRUE",
  "THETA",
  "MIXED",
  "SUMS",
  "THETA_BATCH",
  "FLOAT_ARG",
  "TARGET",
  "DSGA",
  "DSGB",
  "SGLOSS",
  "SCRATCH",
  "SCRATCH_FLOATS",
] as const;
export type FbKey = (typeof FB_KEYS)[number];

/** An array input: its contents, or a number of floats to allocate (zero-filled) for an output. */
export type FbArray = Float32Array | Int32Array | number;

/** Output reader: float32 (or float64 for SUMS and SGLOSS) values of one array. */
export interface FbResult {
  f32(key: FbKey, n: number): Float32Array;
  f64(key: FbKey, n: number): Float64Array;
}

/**
 * Runs feed-forward kernel `name` over [0, width) on one thread with the given size words and
 * arrays (every pointer word not given stays 0), and `scratch` floats per thread slot.
 */
export function runFf(
  name: KernelName,
  words: Partial<Record<FbKey, number>>,
  arrays: Partial<Record<FbKey, FbArray>>,
  width: number,
  scratch: number,
): FbResult {
  const rt = kernelRuntime();
  const entries = Object.entries(arrays) as [FbKey, FbArray][];
  const sizes = entries.map(([, a]) => (typeof a === "number" ? a : a.length));
  const { offsets, total } = transientLayout([FB_KEYS.length, 2 * scratch, ...sizes]);
  const heap = rt.heap(total);
  const ints = new Int32Array(rt.buffer());
  const [prm, scr] = offsets as [number, number];
  heap.fill(0, prm, prm + total);
  const at: Partial<Record<FbKey, number>> = {};
  entries.forEach(([key, a], k) => {
    const off = offsets[k + 2] as number;
    at[key] = off;
    if (a instanceof Int32Array) ints.set(a, off);
    else if (a instanceof Float32Array) heap.set(a, off);
  });
  const all: Partial<Record<FbKey, number>> = { ...words, SCRATCH: 4 * scr, SCRATCH_FLOATS: scratch };
  for (const [key, off] of Object.entries(at)) all[key as FbKey] = 4 * off;
  FB_KEYS.forEach((key, k) => {
    ints[prm + k] = all[key] ?? 0;
  });
  rt.run(name, [4 * prm], width, 0);
  const view = rt.heap(total);
  return {
    f32: (key, n) => view.slice(at[key] as number, (at[key] as number) + n),
    f64: (key, n) => new Float64Array(rt.buffer(), 4 * (at[key] as number), n).slice(),
  };
}

export function normals(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => scale * rng.normal());
}

/** Values in (-1, 1), as tanh outputs are. */
export function tanhs(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => Math.tanh(rng.normal()));
}

/** A probability vector per row of m entries. */
export function softmaxRows(rng: Rng, rows: number, m: number): Float32Array {
  const out = new Float32Array(rows * m);
  for (let r = 0; r < rows; r++) {
    const e = Array.from({ length: m }, () => Math.exp(rng.normal()));
    const s = e.reduce((a, b) => a + b, 0);
    e.forEach((v, k) => {
      out[r * m + k] = v / s;
    });
  }
  return out;
}

export function indices(rng: Rng, n: number, below: number): Int32Array {
  return Int32Array.from({ length: n }, () => rng.integer(0, below - 1));
}

export function roundUp(x: number, to: number): number {
  return Math.ceil(x / to) * to;
}

/** Asserts every |got - want| < tol * max(1, |want|) (want is the float64 reference). */
export function expectClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: number,
  what: string,
): void {
  expect(got.length, what).toBe(want.length);
  for (let k = 0; k < got.length; k++) {
    const w = want[k] as number;
    const err = Math.abs((got[k] as number) - w);
    if (!(err <= tol * Math.max(1, Math.abs(w)))) {
      expect.fail(`${what}[${k}]: kernel ${got[k]}, float64 loop ${w} (tolerance ${tol})`);
    }
  }
}
