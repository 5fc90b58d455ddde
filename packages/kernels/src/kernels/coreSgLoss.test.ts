import { Rng } from "@sgprop/gym";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { startHalves } from "../coreTasks.js";
import { addr, allocLayout, pad8 } from "../layout.js";
import { sgLossTask } from "./coreSgLoss.js";

/**
 * The SG loss over n rows with random sizes: the kernel against a float64 loop of the same
 * formulas (loss sum ||pred - mixed||^2, dz = alpha_s 2 (pred - mixed) / denom, bias and input
 * gradients, sum_l u_l dz_l^T and, with embeddings, sum_l dzIn_l e_l^T). dz is stored in float32
 * and the outer products are summed in float32 blocks, hence the tolerance.
 */
function checkSgLoss(
  n: number,
  W: number,
  q: number,
  P: number,
  M: number,
  Ni: number,
  withEmb: boolean,
  seed: number,
): void {
  const rng = Rng.fromSeed(seed);
  const [Pq, Mq] = [P * q, M * q];
  const cp = pad8(Mq);
  const E = 1 + (seed % 5);
  const ep = pad8(E);
  const denom = 1 + rng.float() * 10;
  const lay = allocLayout({
    f64: [1, W * Mq, W * Pq * cp, Math.max(1, Ni * Mq * ep)],
    f32: [n * W * q, n * W * q, n * W * M, n * W * Pq, n * cp, n * Pq, Math.max(1, n * Ni * Mq), n * ep],
  });
  const [loss, dsgBias, dsgPar, dsgEmb] = lay.f64 as Float64Array[] as [
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
  ];
  const [pred, mixed, alpha, uPar, dz, uRows, dzIn, emb] = lay.f32 as Float32Array[] as [
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
  ];
  for (const a of [pred, mixed, uPar]) for (let i = 0; i < a.length; i++) a[i] = 0.5 * rng.normal();
  for (let i = 0; i < alpha.length; i++) alpha[i] = rng.float();
  dz.fill(0);
  emb.fill(0);
  for (let l = 0; l < n; l++) for (let e = 0; e < E; e++) emb[l * ep + e] = 0.5 * rng.normal();
  const loss0 = rng.normal();
  loss[0] = loss0;
  const bias0 = Array.from({ length: W * Mq }, () => rng.normal());
  dsgBias.set(bias0);
  dsgPar.fill(7);
  dsgEmb.fill(7);
  const args = sgLossTask({
    ...{ n, W, q, P, M, Ni, pred: addr(pred), mixed: addr(mixed), alpha: addr(alpha), uPar: addr(uPar) },
    ...{ denom, cp, dz: addr(dz), uRows: addr(uRows), loss: addr(loss), dsgBias: addr(dsgBias) },
    ...{ dzIn: addr(dzIn), dsgPar: addr(dsgPar), withEmb: withEmb ? 1 : 0, emb: addr(emb), ep },
    dsgEmb: addr(dsgEmb),
  });
  startHalves("sg_loss_halves", [args], false).finish();
  // The float64 loop.
  let total = loss0;
  const dzz = (l: number, i: number, c: number): number => {
    const o = l * W + i;
    const j = c % q;
    const m = Math.floor(c / q);
    const diff = (pred[o * q + j] as number) - (mixed[o * q + j] as number);
    return ((alpha[o * M + m] as number) * 2 * diff) / denom;
  };
  for (let o = 0; o < n * W; o++)
    for (let j = 0; j < q; j++) total += ((pred[o * q + j] as number) - (mixed[o * q + j] as number)) ** 2;
  expect(Math.abs((loss[0] as number) - total)).toBeLessThan(1e-9 * (1 + Math.abs(total)));
  for (let i = 0; i < W; i++)
    for (let c = 0; c < Mq; c++) {
      let want = bias0[i * Mq + c] as number;
      for (let l = 0; l < n; l++) want += dzz(l, i, c);
      expect(Math.abs((dsgBias[i * Mq + c] as number) - want)).toBeLessThan(1e-5);
      for (let k = 0; k < Pq; k++) {
        let g = 0;
        for (let l = 0; l < n; l++) g += (uPar[(l * W + i) * Pq + k] as number) * dzz(l, i, c);
        expect(Math.abs((dsgPar[(i * Pq + k) * cp + c] as number) - g)).toBeLessThan(1e-4);
      }
    }
  for (let l = 0; l < n; l++)
    for (let i = 0; i < Ni; i++)
      for (let c = 0; c < Mq; c++)
        expect(Math.abs((dzIn[(l * Ni + i) * Mq + c] as number) - dzz(l, i, c))).toBeLessThan(1e-5);
  if (withEmb)
    for (let i = 0; i < Ni; i++)
      for (let c = 0; c < Mq; c++)
        for (let e = 0; e < E; e++) {
          let g = 0;
          for (let l = 0; l < n; l++) g += dzz(l, i, c) * (emb[l * ep + e] as number);
          expect(Math.abs((dsgEmb[(i * Mq + c) * ep + e] as number) - g)).toBeLessThan(1e-4);
        }
  lay.release();
}

describe("the recurrent core's SG loss (coreSgLoss.c)", () => {
  it("equals a float64 loop on random sizes", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 8 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 999 }),
        (n, W, q, P, M, ni, withEmb, seed) => checkSgLoss(n, W, q, P, M, Math.min(ni, W), withEmb, seed),
      ),
      { numRuns: 40 },
    );
  });
});
