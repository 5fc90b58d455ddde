import { Rng } from "@sgprop/gym";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { startHalves } from "../coreTasks.js";
import { addr, allocLayout, pad8 } from "../layout.js";
import { forwardStepTask } from "./coreForward.js";

/**
 * One core step for n rows with random sizes: the kernel against a float64 loop of the same
 * formulas (gather with reset, affine maps, tanh slots, routing softmax over scores / sqrt(D),
 * mixture). The kernel's contraction is summed in float32, hence the tolerance.
 */
function checkStep(n: number, W: number, q: number, P: number, M: number, Ni: number, seed: number): void {
  const rng = Rng.fromSeed(seed);
  const [Pq, Mq] = [P * q, M * q];
  const C = Mq + M;
  const D = Pq + 5;
  const cp = pad8(C);
  const lay = allocLayout({
    f64: [C],
    f32: [
      W * Pq * cp,
      W * C,
      n * W * q,
      n,
      n * Ni * C,
      n * W * Pq,
      n * W * cp,
      n * W * Mq,
      n * W * M,
      n * W * q,
    ],
    i32: [W * P],
  });
  const [w, bias, hPrev, keep, ext, u, z, y, alpha, h] = lay.f32 as Float32Array[] as [
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
  ];
  const parentIdx = lay.i32[0] as Int32Array;
  for (const a of [w, bias, hPrev, ext]) for (let i = 0; i < a.length; i++) a[i] = 0.5 * rng.normal();
  for (let b = 0; b < n; b++) keep[b] = rng.float() < 0.2 ? 0 : 1;
  for (let i = 0; i < parentIdx.length; i++) parentIdx[i] = rng.integer(0, W - 1);
  const args = forwardStepTask({
    ...{
      n,
      W,
      q,
      P,
      M,
      Ni,
      parentIdx: addr(parentIdx),
      hPrev: addr(hPrev),
      keep: addr(keep),
      ext: addr(ext),
    },
    ...{ extStride: Ni * C, bias: addr(bias), wPad: addr(w), cp, invSqrtD: 1 / Math.sqrt(D), u: addr(u) },
    ...{ z: addr(z), y: addr(y), alpha: addr(alpha), h: addr(h), zz: addr(lay.f64[0] as Float64Array) },
  });
  startHalves("forward_step_halves", [args], false).finish();
  for (let b = 0; b < n; b++)
    for (let i = 0; i < W; i++) {
      const uu: number[] = [];
      for (let p = 0; p < P; p++)
        for (let j = 0; j < q; j++)
          uu.push(
            (keep[b] as number) * (hPrev[(b * W + (parentIdx[i * P + p] as number)) * q + j] as number),
          );
      const zz = Array.from({ length: C }, (_, c) => {
        let acc = (bias[i * C + c] as number) + (i < Ni ? (ext[(b * Ni + i) * C + c] as number) : 0);
        for (let k = 0; k < Pq; k++) acc += (uu[k] as number) * (w[(i * Pq + k) * cp + c] as number);
        return acc;
      });
      const scores = zz.slice(Mq).map((x) => x / Math.sqrt(D));
      const top = Math.max(...scores);
      const e = scores.map((x) => Math.exp(x - top));
      const total = e.reduce((s, x) => s + x, 0);
      for (let m = 0; m < M; m++) {
        expect(Math.abs((alpha[(b * W + i) * M + m] as number) - (e[m] as number) / total)).toBeLessThan(
          1e-5,
        );
        for (let j = 0; j < q; j++)
          expect(
            Math.abs((y[(b * W + i) * Mq + m * q + j] as number) - Math.tanh(zz[m * q + j] as number)),
          ).toBeLessThan(1e-5);
      }
      for (let j = 0; j < q; j++) {
        let want = 0;
        for (let m = 0; m < M; m++) want += ((e[m] as number) / total) * Math.tanh(zz[m * q + j] as number);
        expect(Math.abs((h[(b * W + i) * q + j] as number) - want)).toBeLessThan(1e-5);
      }
      for (let k = 0; k < Pq; k++) expect(u[(b * W + i) * Pq + k]).toBe(Math.fround(uu[k] as number));
    }
  lay.release();
}

describe("the recurrent core's forward step (coreForward.c)", () => {
  it("equals a float64 loop on random sizes", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 0, max: 999 }),
        (n, W, q, P, M, ni, seed) => checkStep(n, W, q, P, M, Math.min(ni, W), seed),
      ),
      { numRuns: 40 },
    );
  });
});
