import { Rng } from "@sgprop/gym";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { startHalves } from "../coreTasks.js";
import { addr, allocLayout, pad8 } from "../layout.js";
import { estimatorTask } from "./coreEstimator.js";
import { slotBackward } from "./coreTestSupport.js";

/** x / max(||x||, 1e-12). */
function unit(x: readonly number[]): number[] {
  const norm = Math.max(Math.sqrt(x.reduce((s, v) => s + v * v, 0)), 1e-12);
  return x.map((v) => v / norm);
}

/**
 * The eq. 3 sums over n rows with random sizes: the kernel against a float64 loop of the same
 * formulas (normalised g and sub through the slot backward, w = f(g), d = f(sub) - w, the sums
 * (||d||^2, <w, d>) weighted by ||u||^2 (+ ||e||^2 for input neurons) plus their bias parts, the
 * bias sums tw/td and the outer products with u and the embeddings). The outer products are summed
 * in float32 blocks of float32 factors, hence their tolerance.
 */
function checkEstimator(
  n: number,
  W: number,
  q: number,
  P: number,
  M: number,
  Ni: number,
  E: number,
  seed: number,
): void {
  const rng = Rng.fromSeed(seed);
  const [Pq, Mq] = [P * q, M * q];
  const C = Mq + M;
  const cp = pad8(Pq);
  const ep = pad8(E);
  const invSqrtD = 1 / Math.sqrt(Pq + 5);
  const lay = allocLayout({
    f64: [
      2 * W,
      W * Mq,
      W * Mq,
      W * C * cp,
      W * C * cp,
      Math.max(1, Ni * C * ep),
      Math.max(1, Ni * C * ep),
      2 * q + 2 * C + n,
    ],
    f32: [
      n * W * q,
      n * W * q,
      n * W * M,
      n * W * Mq,
      n * W * Pq,
      n * ep,
      n * C,
      n * C,
      n * cp,
      Math.max(1, n * Ni * C),
      Math.max(1, n * Ni * C),
    ],
  });
  const [sums, tw, td, gw, gd, gwEmb, gdEmb, scratch] = lay.f64 as Float64Array[] as [
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
  ];
  const [g, sub, alpha, y, uPar, emb, xw, xd, uRows, xwIn, xdIn] = lay.f32 as Float32Array[] as [
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
    Float32Array,
  ];
  for (const a of [g, sub, uPar]) for (let i = 0; i < a.length; i++) a[i] = rng.normal();
  for (let i = 0; i < alpha.length; i++) alpha[i] = rng.float();
  for (let i = 0; i < y.length; i++) y[i] = 2 * rng.float() - 1;
  emb.fill(0);
  uRows.fill(0);
  for (let l = 0; l < n; l++) for (let e = 0; e < E; e++) emb[l * ep + e] = 0.5 * rng.normal();
  const [sums0, tw0, td0] = [sums, tw, td].map((a) =>
    Array.from({ length: a.length }, () => rng.normal()),
  ) as [number[], number[], number[]];
  sums.set(sums0);
  tw.set(tw0);
  td.set(td0);
  for (const a of [gw, gd, gwEmb, gdEmb]) a.fill(7);
  const args = estimatorTask({
    ...{ n, W, q, P, M, Ni, g: addr(g), sub: addr(sub), alpha: addr(alpha), y: addr(y), uPar: addr(uPar) },
    ...{ emb: addr(emb), E, ep, invSqrtD, cp, xw: addr(xw), xd: addr(xd), uRows: addr(uRows) },
    ...{ sums: addr(sums), tw: addr(tw), td: addr(td), gw: addr(gw), gd: addr(gd) },
    ...{ xwIn: addr(xwIn), xdIn: addr(xdIn), gwEmb: addr(gwEmb), gdEmb: addr(gdEmb), scratch: addr(scratch) },
  });
  startHalves("estimator_halves", [args], false).finish();
  // The float64 loop: factors w, d of every row and neuron.
  const wOf: number[][][] = [];
  const dOf: number[][][] = [];
  const wantSums = [...sums0];
  const [wantTw, wantTd] = [[...tw0], [...td0]];
  for (let l = 0; l < n; l++) {
    const wl: number[][] = [];
    const dl: number[][] = [];
    let embSq = 0;
    for (let e = 0; e < E; e++) embSq += (emb[l * ep + e] as number) ** 2;
    for (let i = 0; i < W; i++) {
      const o = l * W + i;
      const a = Array.from(alpha.subarray(o * M, (o + 1) * M));
      const yo = Array.from(y.subarray(o * Mq, (o + 1) * Mq));
      const fw = slotBackward(unit(Array.from(g.subarray(o * q, (o + 1) * q))), a, yo, q, invSqrtD);
      const fs = slotBackward(unit(Array.from(sub.subarray(o * q, (o + 1) * q))), a, yo, q, invSqrtD);
      const d = fs.map((v, c) => v - (fw[c] as number));
      let uSq = i < Ni ? embSq : 0;
      for (let k = 0; k < Pq; k++) uSq += (uPar[o * Pq + k] as number) ** 2;
      let [dd, wd, ddB, wdB] = [0, 0, 0, 0];
      for (let c = 0; c < C; c++) {
        const [wc, dc] = [fw[c] as number, d[c] as number];
        dd += dc * dc;
        wd += wc * dc;
        if (c < Mq) {
          ddB += dc * dc;
          wdB += wc * dc;
          const t = i * Mq + c;
          wantTw[t] = (wantTw[t] as number) + wc;
          wantTd[t] = (wantTd[t] as number) + dc;
        }
      }
      wantSums[2 * i] = (wantSums[2 * i] as number) + dd * uSq + ddB;
      wantSums[2 * i + 1] = (wantSums[2 * i + 1] as number) + wd * uSq + wdB;
      wl.push(fw);
      dl.push(d);
    }
    wOf.push(wl);
    dOf.push(dl);
  }
  const close = (got: number, want: number, tol: number): void =>
    expect(Math.abs(got - want)).toBeLessThan(tol * (1 + Math.abs(want)));
  for (let x = 0; x < 2 * W; x++) close(sums[x] as number, wantSums[x] as number, 1e-9);
  for (let x = 0; x < W * Mq; x++) {
    close(tw[x] as number, wantTw[x] as number, 1e-9);
    close(td[x] as number, wantTd[x] as number, 1e-9);
  }
  for (let i = 0; i < W; i++)
    for (let c = 0; c < C; c++) {
      for (let k = 0; k < Pq; k++) {
        let [sw, sd] = [0, 0];
        for (let l = 0; l < n; l++) {
          const u = uPar[(l * W + i) * Pq + k] as number;
          sw += (wOf[l]?.[i]?.[c] as number) * u;
          sd += (dOf[l]?.[i]?.[c] as number) * u;
        }
        close(gw[(i * C + c) * cp + k] as number, sw, 1e-4);
        close(gd[(i * C + c) * cp + k] as number, sd, 1e-4);
      }
      if (i < Ni)
        for (let e = 0; e < E; e++) {
          let [sw, sd] = [0, 0];
          for (let l = 0; l < n; l++) {
            const v = emb[l * ep + e] as number;
            sw += (wOf[l]?.[i]?.[c] as number) * v;
            sd += (dOf[l]?.[i]?.[c] as number) * v;
          }
          close(gwEmb[(i * C + c) * ep + e] as number, sw, 1e-4);
          close(gdEmb[(i * C + c) * ep + e] as number, sd, 1e-4);
        }
    }
  lay.release();
}

describe("the recurrent core's eq. 3 sums (coreEstimator.c)", () => {
  it("equal a float64 loop on random sizes", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 999 }),
        (n, W, q, P, M, ni, E, seed) => checkEstimator(n, W, q, P, M, Math.min(ni, W), E, seed),
      ),
      { numRuns: 40 },
    );
  });
});
