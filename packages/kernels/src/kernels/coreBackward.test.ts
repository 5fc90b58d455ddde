import { Rng } from "@sgprop/gym";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { startHalves } from "../coreTasks.js";
import { addr, allocLayout, pad8 } from "../layout.js";
import { backwardTask } from "./coreBackward.js";
import { slotBackward } from "./coreTestSupport.js";

interface Sizes {
  T: number;
  nb: number;
  W: number;
  q: number;
  P: number;
  M: number;
  Ni: number;
  E: number;
  mixing: boolean;
  positiveProjection: boolean;
  withEmb: boolean;
}

/**
 * BPTT over T steps for nb environments with random sizes: the kernel against a float64 loop of
 * the same formulas (gradient at H_t = actor term + carry from t+1, with mixing theta g + (1 -
 * theta) coef pred, coef the positive projection or 1, the slot backward, du = W dz through the
 * gathers and resets, the bias sums, sum_l u_l dz_l^T and, with embeddings, sum_l dzIn_l e_l^T and
 * dzIn wEmb^T). The kernel stores dz and du in float32 and contracts in float32, hence the tolerance.
 */
function checkBackward(s: Sizes, seed: number): void {
  const { T, nb, W, q, P, M, Ni, E } = s;
  const rng = Rng.fromSeed(seed);
  const [Pq, Mq] = [P * q, M * q];
  const C = Mq + M;
  const [cp, pqp, ep] = [pad8(C), pad8(Pq), pad8(E)];
  const nRows = T * nb;
  const invSqrtD = 1 / Math.sqrt(Pq + 5);
  const lay = allocLayout({
    f64: [T * W, nb * W * q, nb * W * q, W * C, W * Pq * cp, 2 * q + C, Math.max(1, Ni * C * ep)],
    f32: [
      ...[nRows, nRows * W * q, nRows * W * M, nRows * W * Mq, nRows * W * Pq, nRows * W * q, W * C * pqp],
      ...[nRows * W * q, nRows * W * q, nRows * W * q, Math.max(1, nRows * Ni * C), W * nRows * cp],
      ...[nb * W * pqp, nRows * Pq, nRows * ep, Math.max(1, Ni * C * ep), nRows * ep],
    ],
    i32: [W * P],
  });
  const [theta, carry, next, dBias, dwPar, scratch, dWemb] = lay.f64 as Float64Array[] as [
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
  ];
  const f32 = lay.f32 as Float32Array[];
  const [keep, dActor, alpha, y, uPar, pred, wT, trueGrad, mixedGrad, substitute, dzIn, dzAll] = f32.slice(
    0,
    12,
  ) as [
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
    Float32Array,
  ];
  const [du, uRows, emb, wEmbT, de] = f32.slice(12) as [
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
  ];
  const parentIdx = lay.i32[0] as Int32Array;
  for (const a of f32) a.fill(0);
  for (const a of [dActor, uPar, pred]) for (let x = 0; x < a.length; x++) a[x] = rng.normal();
  for (let x = 0; x < alpha.length; x++) alpha[x] = rng.float();
  for (let x = 0; x < y.length; x++) y[x] = 2 * rng.float() - 1;
  for (let i = 0; i < W; i++)
    for (let c = 0; c < C; c++)
      for (let k = 0; k < Pq; k++) wT[(i * C + c) * pqp + k] = rng.normal() / Math.sqrt(C);
  for (let l = 0; l < nRows; l++) {
    keep[l] = rng.float() < 0.2 ? 0 : 1;
    for (let e = 0; e < E; e++) emb[l * ep + e] = rng.normal();
  }
  for (let x = 0; x < Ni * C; x++) for (let e = 0; e < E; e++) wEmbT[x * ep + e] = rng.normal();
  for (let x = 0; x < theta.length; x++) theta[x] = rng.float();
  for (let x = 0; x < parentIdx.length; x++) parentIdx[x] = rng.integer(0, W - 1);
  const bias0 = Array.from({ length: W * C }, () => rng.normal());
  dBias.set(bias0);
  dwPar.fill(7);
  dWemb.fill(7);
  const args = backwardTask({
    ...{ T, nb, W, q, P, M, Ni, parentIdx: addr(parentIdx), keep: addr(keep), dActor: addr(dActor) },
    ...{ alpha: addr(alpha), y: addr(y), uPar: addr(uPar), pred: addr(pred), theta: addr(theta) },
    ...{ mixing: s.mixing ? 1 : 0, positiveProjection: s.positiveProjection ? 1 : 0, invSqrtD },
    ...{ wT: addr(wT), cp, pqp, trueGrad: addr(trueGrad), mixedGrad: addr(mixedGrad) },
    ...{ substitute: addr(substitute), dzIn: addr(dzIn), dzAll: addr(dzAll), du: addr(du) },
    ...{ carry: addr(carry), next: addr(next), dBias: addr(dBias), dwPar: addr(dwPar), uRows: addr(uRows) },
    ...{ scratch: addr(scratch), withEmb: s.withEmb ? 1 : 0, emb: addr(emb), ep, wEmbT: addr(wEmbT) },
    ...{ dWemb: addr(dWemb), de: addr(de) },
  });
  startHalves("backward_halves", [args], false).finish();
  const close = (got: number, want: number, tol: number): void =>
    expect(Math.abs(got - want)).toBeLessThan(tol * (1 + Math.abs(want)));
  // The float64 loop; dz[i][l] the pre-activation gradient of neuron i at row l.
  const dz: number[][][] = Array.from({ length: W }, () => []);
  let carryF = new Array<number>(nb * W * q).fill(0);
  for (let t = T - 1; t >= 0; t--) {
    const nextF = new Array<number>(nb * W * q).fill(0);
    for (let i = 0; i < W; i++)
      for (let b = 0; b < nb; b++) {
        const l = t * nb + b;
        const ho = (l * W + i) * q;
        const g = Array.from(
          { length: q },
          (_, j) => (dActor[ho + j] as number) + (carryF[(b * W + i) * q + j] as number),
        );
        for (let j = 0; j < q; j++) close(trueGrad[ho + j] as number, g[j] as number, 1e-4);
        let mixed = g;
        if (s.mixing) {
          const th = theta[t * W + i] as number;
          const pr = Array.from(pred.subarray(ho, ho + q));
          let coef = 1;
          if (s.positiveProjection) {
            const dot = g.reduce((acc, v, j) => acc + v * (pr[j] as number), 0);
            coef =
              Math.max(dot, 0) /
              Math.max(
                pr.reduce((acc, v) => acc + v * v, 0),
                1e-12,
              );
          }
          mixed = g.map((v, j) => th * v + (1 - th) * coef * (pr[j] as number));
          for (let j = 0; j < q; j++) {
            close(substitute[ho + j] as number, coef * (pr[j] as number), 1e-4);
            close(mixedGrad[ho + j] as number, mixed[j] as number, 1e-4);
          }
        }
        const a = Array.from(alpha.subarray((l * W + i) * M, (l * W + i + 1) * M));
        const yo = Array.from(y.subarray((l * W + i) * Mq, (l * W + i + 1) * Mq));
        const d = slotBackward(mixed, a, yo, q, invSqrtD);
        (dz[i] as number[][])[l] = d;
        for (let c = 0; c < C; c++) close(dzAll[(i * nRows + l) * cp + c] as number, d[c] as number, 1e-4);
        if (t > 0 && keep[l] !== 0)
          for (let p = 0; p < P; p++)
            for (let j = 0; j < q; j++) {
              let duk = 0;
              for (let c = 0; c < C; c++)
                duk += (d[c] as number) * (wT[(i * C + c) * pqp + p * q + j] as number);
              const at = (b * W + (parentIdx[i * P + p] as number)) * q + j;
              nextF[at] = (nextF[at] as number) + (keep[l] as number) * duk;
            }
      }
    carryF = nextF;
  }
  const dzOf = (i: number, l: number, c: number): number => dz[i]?.[l]?.[c] as number;
  for (let i = 0; i < W; i++)
    for (let c = 0; c < C; c++) {
      let want = bias0[i * C + c] as number;
      for (let l = 0; l < nRows; l++) want += dzOf(i, l, c);
      close(dBias[i * C + c] as number, want, 1e-4);
      for (let k = 0; k < Pq; k++) {
        let gsum = 0;
        for (let l = 0; l < nRows; l++) gsum += (uPar[(l * W + i) * Pq + k] as number) * dzOf(i, l, c);
        close(dwPar[(i * Pq + k) * cp + c] as number, gsum, 1e-4);
      }
    }
  for (let l = 0; l < nRows; l++)
    for (let i = 0; i < Ni; i++)
      for (let c = 0; c < C; c++) close(dzIn[(l * Ni + i) * C + c] as number, dzOf(i, l, c), 1e-4);
  if (s.withEmb)
    for (let e = 0; e < E; e++) {
      for (let i = 0; i < Ni; i++)
        for (let c = 0; c < C; c++) {
          let gsum = 0;
          for (let l = 0; l < nRows; l++) gsum += dzOf(i, l, c) * (emb[l * ep + e] as number);
          close(dWemb[(i * C + c) * ep + e] as number, gsum, 1e-4);
        }
      for (let l = 0; l < nRows; l++) {
        let want = 0;
        for (let i = 0; i < Ni; i++)
          for (let c = 0; c < C; c++) want += dzOf(i, l, c) * (wEmbT[(i * C + c) * ep + e] as number);
        close(de[l * ep + e] as number, want, 1e-4);
      }
    }
  lay.release();
}

describe("the recurrent core's backward pass (coreBackward.c)", () => {
  it("equals a float64 loop on random sizes", () => {
    fc.assert(
      fc.property(
        fc.record({
          T: fc.integer({ min: 1, max: 5 }),
          nb: fc.integer({ min: 1, max: 4 }),
          W: fc.integer({ min: 1, max: 8 }),
          q: fc.integer({ min: 1, max: 3 }),
          P: fc.integer({ min: 1, max: 3 }),
          M: fc.integer({ min: 1, max: 3 }),
          Ni: fc.integer({ min: 0, max: 8 }),
          E: fc.integer({ min: 1, max: 6 }),
          mixing: fc.boolean(),
          positiveProjection: fc.boolean(),
          withEmb: fc.boolean(),
        }),
        fc.integer({ min: 0, max: 999 }),
        (s, seed) => checkBackward({ ...s, Ni: Math.min(s.Ni, s.W) }, seed),
      ),
      { numRuns: 40 },
    );
  });
});
