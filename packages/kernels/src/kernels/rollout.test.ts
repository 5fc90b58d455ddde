import { Rng } from "@sgprop/gym";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { startHalves } from "../coreTasks.js";
import { addr, allocLayout, pad8 } from "../layout.js";
import { rolloutTask } from "./rollout.js";

/** Softmax of `x`, in float64. */
function softmax(x: readonly number[]): number[] {
  const top = Math.max(...x);
  const e = x.map((v) => Math.exp(v - top));
  const total = e.reduce((s, v) => s + v, 0);
  return e.map((v) => v / total);
}

interface Sizes {
  n: number;
  O: number;
  E1: number;
  E: number;
  W: number;
  q: number;
  P: number;
  M: number;
  Ni: number;
  A: number;
  S: number;
}

/**
 * One rollout step of n rows with random sizes: the kernel against a float64 loop of the same
 * formulas (embedding LeakyReLU(LayerNorm(obs W1 + b1) W2 + b2), the input neurons' term emb wEmb,
 * the core step of coreForward.c and the slot-mixture actor logits). Every stage is stored and
 * contracted in float32, hence the tolerance.
 */
function checkRollout(s: Sizes, seed: number): void {
  const { n, O, E1, E, W, q, P, M, Ni, A, S } = s;
  const rng = Rng.fromSeed(seed);
  const [Pq, Mq] = [P * q, M * q];
  const C = Mq + M;
  const D = Pq + 5;
  const [e1p, ep, cp] = [pad8(E1), pad8(E), pad8(C)];
  const ncp = pad8(Math.max(1, Ni * C));
  const F = W * q;
  const actorCp = pad8(2 * A * S);
  const [lnEps, slope] = [1e-5, 0.01];
  const lay = allocLayout({
    f64: [C],
    f32: [
      ...[n * O, O * e1p, E1, E1 * ep, E, n * e1p, n * ep, E * ncp, n * ncp],
      ...[n * W * q, n, W * C, W * Pq * cp, n * W * Pq, n * W * cp, n * W * Mq, n * W * M, n * W * q],
      ...[F * actorCp, A * S, n * actorCp, n * A],
    ],
    i32: [W * P],
  });
  const f32 = lay.f32 as Float32Array[];
  const [obs, w1, b1, w2, b2, x1, emb, wEmb, ext] = f32.slice(0, 9) as Float32Array[] as [
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
  const [hPrev, keep, bias, wPad, u, z, y, alpha, h] = f32.slice(9, 18) as Float32Array[] as [
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
  const [actor, actorBias, zActor, logits] = f32.slice(18) as Float32Array[] as [
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
  ];
  const parentIdx = lay.i32[0] as Int32Array;
  for (const a of f32) a.fill(0);
  const fill = (a: Float32Array, rows: number, cols: number, stride: number, scale: number): void => {
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) a[r * stride + c] = scale * rng.normal();
  };
  fill(obs, n, O, O, 1);
  fill(w1, O, E1, e1p, 1 / Math.sqrt(O));
  fill(b1, 1, E1, E1, 0.5);
  fill(w2, E1, E, ep, 1 / Math.sqrt(E1));
  fill(b2, 1, E, E, 0.5);
  fill(wEmb, E, Ni * C, ncp, 0.5);
  fill(hPrev, n, W * q, W * q, 0.5);
  fill(bias, W, C, C, 0.5);
  fill(wPad, W * Pq, C, cp, 0.5);
  fill(actor, F, 2 * A * S, actorCp, 0.5);
  fill(actorBias, 1, A * S, A * S, 0.5);
  for (let b = 0; b < n; b++) keep[b] = rng.float() < 0.2 ? 0 : 1;
  for (let i = 0; i < parentIdx.length; i++) parentIdx[i] = rng.integer(0, W - 1);
  const args = rolloutTask({
    ...{ n, O, E1, E, obs: addr(obs), w1: addr(w1), e1p, b1: addr(b1), w2: addr(w2), ep, b2: addr(b2) },
    ...{ x1: addr(x1), emb: addr(emb), lnEps, slope, wEmb: addr(wEmb), ncp, ext: addr(ext) },
    ...{ W, q, P, M, Ni, parentIdx: addr(parentIdx), hPrev: addr(hPrev), keep: addr(keep) },
    ...{ bias: addr(bias), wPad: addr(wPad), cp, invSqrtD: 1 / Math.sqrt(D), u: addr(u), z: addr(z) },
    ...{ y: addr(y), alpha: addr(alpha), h: addr(h), zz: addr(lay.f64[0] as Float64Array) },
    ...{ F, A, S, actor: addr(actor), actorCp, actorBias: addr(actorBias), invSqrtF: 1 / Math.sqrt(F) },
    ...{ zActor: addr(zActor), logits: addr(logits) },
  });
  startHalves("rollout_halves", [args], false).finish();
  const close = (got: number, want: number, tol: number): void =>
    expect(Math.abs(got - want)).toBeLessThan(tol * (1 + Math.abs(want)));
  for (let b = 0; b < n; b++) {
    // Observation embedding.
    const xx = Array.from({ length: E1 }, (_, c) => {
      let acc = b1[c] as number;
      for (let k = 0; k < O; k++) acc += (obs[b * O + k] as number) * (w1[k * e1p + c] as number);
      return acc;
    });
    const mean = xx.reduce((t, v) => t + v, 0) / E1;
    const inv = 1 / Math.sqrt(xx.reduce((t, v) => t + (v - mean) ** 2, 0) / E1 + lnEps);
    const ln = xx.map((v) => (v - mean) * inv);
    const ee = Array.from({ length: E }, (_, c) => {
      let acc = b2[c] as number;
      for (let k = 0; k < E1; k++) acc += (ln[k] as number) * (w2[k * ep + c] as number);
      return acc < 0 ? slope * acc : acc;
    });
    for (let c = 0; c < E; c++) close(emb[b * ep + c] as number, ee[c] as number, 1e-4);
    // The core step with the input neurons' term emb wEmb.
    const hh: number[] = [];
    for (let i = 0; i < W; i++) {
      const uu: number[] = [];
      for (let p = 0; p < P; p++)
        for (let j = 0; j < q; j++)
          uu.push(
            (keep[b] as number) * (hPrev[(b * W + (parentIdx[i * P + p] as number)) * q + j] as number),
          );
      const zz = Array.from({ length: C }, (_, c) => {
        let acc = bias[i * C + c] as number;
        if (i < Ni)
          for (let e = 0; e < E; e++) acc += (ee[e] as number) * (wEmb[e * ncp + i * C + c] as number);
        for (let k = 0; k < Pq; k++) acc += (uu[k] as number) * (wPad[(i * Pq + k) * cp + c] as number);
        return acc;
      });
      const al = softmax(zz.slice(Mq).map((v) => v / Math.sqrt(D)));
      for (let j = 0; j < q; j++) {
        let want = 0;
        for (let m = 0; m < M; m++) want += (al[m] as number) * Math.tanh(zz[m * q + j] as number);
        close(h[(b * W + i) * q + j] as number, want, 1e-4);
        hh.push(want);
      }
    }
    // The actor's logits of the new state.
    const za = Array.from({ length: 2 * A * S }, (_, c) => {
      let acc = 0;
      for (let k = 0; k < F; k++) acc += (hh[k] as number) * (actor[k * actorCp + c] as number);
      return acc;
    });
    for (let a = 0; a < A; a++) {
      const beta = softmax(za.slice(a * S, (a + 1) * S).map((v) => v / Math.sqrt(F)));
      let want = 0;
      for (let t = 0; t < S; t++)
        want += (beta[t] as number) * ((za[A * S + a * S + t] as number) + (actorBias[a * S + t] as number));
      close(logits[b * A + a] as number, want, 1e-4);
    }
  }
  lay.release();
}

describe("a rollout step of the recurrent core (rollout.c)", () => {
  it("equals a float64 loop on random sizes", () => {
    fc.assert(
      fc.property(
        fc.record({
          n: fc.integer({ min: 1, max: 9 }),
          O: fc.integer({ min: 1, max: 10 }),
          E1: fc.integer({ min: 2, max: 12 }),
          E: fc.integer({ min: 1, max: 10 }),
          W: fc.integer({ min: 1, max: 10 }),
          q: fc.integer({ min: 1, max: 3 }),
          P: fc.integer({ min: 1, max: 3 }),
          M: fc.integer({ min: 1, max: 3 }),
          Ni: fc.integer({ min: 0, max: 10 }),
          A: fc.integer({ min: 1, max: 4 }),
          S: fc.integer({ min: 1, max: 3 }),
        }),
        fc.integer({ min: 0, max: 999 }),
        (s, seed) => checkRollout({ ...s, Ni: Math.min(s.Ni, s.W) }, seed),
      ),
      { numRuns: 40 },
    );
  });
});
