import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { disposeKernelThreads } from "../runtime.js";
import { type MixCase, mixCase, runMix, substitute } from "./feedforwardTestBlock.js";

afterAll(() => disposeKernelThreads());

function unit(v: Float64Array): Float64Array {
  const norm = Math.max(Math.sqrt(v.reduce((a, x) => a + x * x, 0)), 1e-12);
  return v.map((x) => x / norm);
}

/**
 * The per-sample gradient of neuron i's [keys | A] (K x D, row-major) and b (M q) for the output
 * gradient v, written out in full (the kernel uses closed forms of its inner products instead).
 */
function sampleGradient(c: MixCase, n: number, i: number, v: Float64Array): Float64Array {
  const { m, q, d } = c;
  const mq = m * q;
  const k1 = m + mq;
  const ni = n * c.w + i;
  const dz = new Float64Array(k1);
  const ey = new Float64Array(m);
  let mean = 0;
  for (let s = 0; s < m; s++) {
    const a = c.alpha[ni * m + s] as number;
    for (let j = 0; j < q; j++) {
      const y = c.y[ni * mq + s * q + j] as number;
      ey[s] = (ey[s] as number) + (v[j] as number) * y;
      dz[m + s * q + j] = a * (1 - y * y) * (v[j] as number);
    }
    mean += a * (ey[s] as number);
  }
  for (let s = 0; s < m; s++)
    dz[s] = ((c.alpha[ni * m + s] as number) * ((ey[s] as number) - mean)) / Math.sqrt(d);
  const out = new Float64Array(k1 * d + mq);
  for (let k = 0; k < k1; k++)
    for (let e = 0; e < d; e++) out[k * d + e] = (dz[k] as number) * (c.u[ni * d + e] as number);
  out.set(dz.subarray(m), k1 * d);
  return out;
}

const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, x, k) => s + x * (b[k] as number), 0);

/** eq. 3 (SPEC 4.5) for neuron i in float64, from the explicit per-sample gradients. */
function thetaBatch(c: MixCase, i: number, eps: number): number {
  const { n, q } = c;
  const gw: Float64Array[] = [];
  const gd: Float64Array[] = [];
  for (let s = 0; s < n; s++) {
    const o = (s * c.w + i) * q;
    const f = Float64Array.from({ length: q }, (_, j) =>
      c.residual ? 1 - (c.tanhOut[o + j] as number) ** 2 : 1,
    );
    const g = Float64Array.from({ length: q }, (_, j) => (c.g[o + j] as number) * (f[j] as number));
    const sub = substitute(c, s, i).map((x, j) => x * (f[j] as number));
    const gh = unit(g);
    const dh = unit(sub).map((x, j) => x - (gh[j] as number));
    gw.push(sampleGradient(c, s, i, gh));
    gd.push(sampleGradient(c, s, i, dh));
  }
  const mean = (xs: Float64Array[]) =>
    (xs[0] as Float64Array).map((_, k) => xs.reduce((a, x) => a + (x[k] as number), 0) / xs.length);
  const wbar = mean(gw);
  const dbar = mean(gd);
  const dbarSq = dot(dbar, dbar);
  const meanDD = gd.reduce((a, x) => a + dot(x, x), 0) / n;
  const meanWD = gw.reduce((a, x, k) => a + dot(x, gd[k] as Float64Array), 0) / n;
  const v = Math.max((meanDD - dbarSq) / (n - 1), 0);
  const cov = (meanWD - dot(wbar, dbar)) / (n - 1);
  const denom = v + Math.max(dbarSq - v, 0);
  if (!(denom > eps)) return c.theta[i] as number;
  return Math.min(Math.max(1 + cov / denom, 0), 1);
}

describe("adaptive mixing weight (thetaEstimator.c, through ff_mix)", () => {
  it("thetaBatch equals eq. 3 computed in float64 from explicit per-sample gradients", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 8 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 0, max: 1 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 9999 }),
        (n, w, m, q, d, mode, residual, seed) => {
          const c = mixCase(seed, { n, w, m, q, d }, mode, residual);
          const eps = 1e-8;
          const got = runMix(c, true, eps).f32("THETA_BATCH", w);
          for (let i = 0; i < w; i++) {
            const want = thetaBatch(c, i, eps);
            // 1 + c / (v + b^2) divides float32 sums that cancel: a few 1e-4 in theta at worst.
            expect(Math.abs((got[i] as number) - want), `neuron ${i}: ${got[i]} vs ${want}`).toBeLessThan(
              1e-3,
            );
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
