/**
 * Test support for the feed-forward kernels (feedforward.c, mixing.c, thetaEstimator.c): builds
 * their parameter block (include/feedforward.h) in transient kernel memory and reads the outputs
 * back. Only the property tests beside those kernels use it.
 */
import { Rng } from "@sgprop/gym";
import { expect } from "vitest";
import { type KernelName, kernelRuntime, transientLayout } from "../runtime.js";
import { FB, type FeedforwardWord, writeFeedforwardBlock } from "./feedforward.js";

export type FbKey = FeedforwardWord;

/** An array input: its contents, or a number of floats to allocate (zero-filled) for an output. */
export type FbArray = Float32Array | Int32Array | number;

/** Output reader: float32 (or float64 for SUMS and SGLOSS) values of one array. */
export interface FbResult {
  f32(key: FbKey, n: number): Float32Array;
  f64(key: FbKey, n: number): Float64Array;
}

/**
 * Runs feed-forward kernel `name` over [0, width) with the given size words and arrays (every
 * pointer word not given stays 0), and `scratch` floats per thread slot: on one thread unless
 * `work` (multiply-adds) reaches the runtime's two-thread threshold.
 */
export function runFf(
  name: KernelName,
  words: Partial<Record<FbKey, number>>,
  arrays: Partial<Record<FbKey, FbArray>>,
  width: number,
  scratch: number,
  work = 0,
): FbResult {
  const rt = kernelRuntime();
  const entries = Object.entries(arrays) as [FbKey, FbArray][];
  const sizes = entries.map(([, a]) => (typeof a === "number" ? a : a.length));
  const { offsets, total } = transientLayout([FB.COUNT, 2 * scratch, ...sizes]);
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
  writeFeedforwardBlock(prm, all);
  rt.run(name, [4 * prm], width, work);
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

/** Random inputs of ff_mix (mixing.c) for one layer, with what eq. 3 (thetaEstimator.c) reads. */
export interface MixCase {
  readonly n: number;
  readonly w: number;
  readonly m: number;
  readonly q: number;
  readonly d: number;
  readonly mode: number;
  readonly residual: boolean;
  readonly g: Float32Array;
  readonly hhat: Float32Array;
  readonly tanhOut: Float32Array;
  readonly theta: Float32Array;
  readonly u: Float32Array;
  readonly alpha: Float32Array;
  readonly y: Float32Array;
}

export function mixCase(
  seed: number,
  sizes: { n: number; w: number; m: number; q: number; d: number },
  mode: number,
  residual: boolean,
): MixCase {
  const rng = Rng.fromSeed(seed);
  const { n, w, m, q, d } = sizes;
  return {
    ...sizes,
    mode,
    residual,
    g: normals(rng, n * w * q),
    hhat: normals(rng, n * w * q),
    tanhOut: tanhs(rng, n * w * q),
    theta: Float32Array.from({ length: w }, () => rng.float()),
    u: normals(rng, n * w * d),
    alpha: softmaxRows(rng, n * w, m),
    y: tanhs(rng, n * w * m * q),
  };
}

/**
 * Runs ff_mix on a case: returns mixed, the float64 sums and thetaBatch (with `adaptive`); `work`
 * as in runFf.
 */
export function runMix(c: MixCase, adaptive: boolean, eps: number, work = 0): FbResult {
  const { n, w, m, q, d } = c;
  const mq = m * q;
  const k1 = m + mq;
  const est = n * 2 * k1 + 4 + roundUp(2 * k1 * d, 4) + 6 * roundUp(mq, 4) + 2 * m + 24;
  return runFf(
    "ff_mix",
    { N: n, W: w, M: m, Q: q, D: d, MODE: c.mode, RESIDUAL: c.residual ? 1 : 0, ADAPTIVE: adaptive ? 1 : 0 },
    {
      GTRUE: c.g,
      SGPRED: c.hhat,
      TANH: c.tanhOut,
      THETA: c.theta,
      U: c.u,
      ALPHA: c.alpha,
      Y: c.y,
      FLOAT_ARG: Float32Array.of(eps),
      MIXED: n * w * q,
      SUMS: 4 * w,
      THETA_BATCH: w,
    },
    w,
    roundUp(2 * (n * q + 4) + est + 32, 4),
    work,
  );
}

/** The substitute s of sample n, neuron i (Definition 1): hhat, or its projection on g (mode 1). */
export function substitute(c: MixCase, n: number, i: number): Float64Array {
  const o = (n * c.w + i) * c.q;
  const hh = Float64Array.from(c.hhat.subarray(o, o + c.q));
  if (c.mode !== 1) return hh;
  let dot = 0;
  let sq = 0;
  for (let j = 0; j < c.q; j++) {
    dot += (c.g[o + j] as number) * (hh[j] as number);
    sq += (hh[j] as number) ** 2;
  }
  const scale = Math.max(dot, 0) / Math.max(sq, 1e-12);
  return hh.map((v) => scale * v);
}
