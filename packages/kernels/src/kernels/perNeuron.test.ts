import { Rng } from "@sgprop/gym";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { disposeKernelThreads } from "../runtime.js";
import { onOneThread, withKernelHelper } from "../threads.js";
import { simdDenseMatVec, simdDenseOuter, simdDenseTanh, simdMatVecs, simdOuter } from "./perNeuron.js";

function randomArray(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** Float64 reference of z[n, i, k] = sum_d u[n, i, d] w[i, d, k] (w [W, K, D] when transposed). */
function naiveMatVec(
  u: Float32Array,
  w: Float32Array,
  n: number,
  nw: number,
  d: number,
  k: number,
  tr: boolean,
) {
  const z = new Float64Array(n * nw * k);
  for (let s = 0; s < n; s++)
    for (let i = 0; i < nw; i++)
      for (let c = 0; c < k; c++) {
        let acc = 0;
        for (let e = 0; e < d; e++) {
          const wv = tr ? w[(i * k + c) * d + e] : w[(i * d + e) * k + c];
          acc += (u[(s * nw + i) * d + e] as number) * (wv as number);
        }
        z[(s * nw + i) * k + c] = acc;
      }
  return z;
}

/** Float64 reference of o[i, k, d] = sum_n a[n, i, k] u[n, i, d]. */
function naiveOuter(a: Float32Array, u: Float32Array, n: number, nw: number, k: number, d: number) {
  const o = new Float64Array(nw * k * d);
  for (let s = 0; s < n; s++)
    for (let i = 0; i < nw; i++)
      for (let c = 0; c < k; c++)
        for (let e = 0; e < d; e++)
          o[(i * k + c) * d + e] =
            (o[(i * k + c) * d + e] as number) +
            (a[(s * nw + i) * k + c] as number) * (u[(s * nw + i) * d + e] as number);
  return o;
}

afterAll(() => disposeKernelThreads());

describe("per-neuron kernels (perNeuron.c)", () => {
  it("matVec (both weight layouts) and outer equal a float64 loop on random shapes", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 0, max: 1000 }),
        (n, nw, d, k, seed) => {
          const rng = Rng.fromSeed(seed);
          const u = randomArray(rng, n * nw * d);
          const w = randomArray(rng, nw * d * k);
          const a = randomArray(rng, n * nw * k);
          const [z, zt] = simdMatVecs(u, n, nw, d, [
            { data: w, k, transposed: false },
            { data: w, k, transposed: true },
          ]) as [Float32Array, Float32Array];
          const o = simdOuter(a, u, n, nw, k, d);
          const tol = 1e-5 * Math.sqrt(Math.max(d, n));
          expect(maxAbsDiff(z, naiveMatVec(u, w, n, nw, d, k, false))).toBeLessThan(tol);
          expect(maxAbsDiff(zt, naiveMatVec(u, w, n, nw, d, k, true))).toBeLessThan(tol);
          expect(maxAbsDiff(o, naiveOuter(a, u, n, nw, k, d))).toBeLessThan(tol);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("dense outer, matVec and tanh layer equal float64 loops on random shapes", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 1000 }),
        (n, d, k, seed) => {
          const rng = Rng.fromSeed(seed);
          const u = randomArray(rng, n * d);
          const w = randomArray(rng, k * d);
          const a = randomArray(rng, n * k);
          const b = randomArray(rng, k);
          const outer = simdDenseOuter(a, u, n, k, d);
          const mv = simdDenseMatVec(a, w, n, k, d); // w read as [K, D]: contracts over k
          const act = simdDenseTanh(u, w, b, n, d, k);
          const wantOuter = new Float64Array(k * d);
          const wantMv = new Float64Array(n * d);
          const wantAct = new Float64Array(n * k);
          for (let s = 0; s < n; s++)
            for (let r = 0; r < k; r++) {
              let z = b[r] as number;
              for (let c = 0; c < d; c++) {
                wantOuter[r * d + c] =
                  (wantOuter[r * d + c] as number) + (a[s * k + r] as number) * (u[s * d + c] as number);
                wantMv[s * d + c] =
                  (wantMv[s * d + c] as number) + (a[s * k + r] as number) * (w[r * d + c] as number);
                z += (u[s * d + c] as number) * (w[r * d + c] as number);
              }
              wantAct[s * k + r] = Math.tanh(z);
            }
          const tol = 2e-6 * Math.sqrt(Math.max(n, d, k)) * 4;
          expect(maxAbsDiff(outer, wantOuter)).toBeLessThan(tol);
          expect(maxAbsDiff(mv, wantMv)).toBeLessThan(tol);
          expect(maxAbsDiff(act, wantAct)).toBeLessThan(tol);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("gives bit-identical results on one and two threads", async () => {
    const rng = Rng.fromSeed(7);
    const [n, nw, d, k] = [64, 40, 50, 55];
    const u = randomArray(rng, n * nw * d);
    const w = randomArray(rng, nw * k * d);
    const a = randomArray(rng, n * nw * k);
    const run = () => [
      ...simdMatVecs(u, n, nw, d, [{ data: w, k, transposed: true }]),
      simdOuter(a, u, n, nw, k, d),
    ];
    const single = onOneThread(run);
    const double = await withKernelHelper(run);
    for (let j = 0; j < single.length; j++) expect(double[j]).toEqual(single[j]);
  });
});
