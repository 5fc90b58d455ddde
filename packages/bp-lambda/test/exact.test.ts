import { DenseRowJacobian, rowTimesJacobian } from "@sgprop/agents";
import { Rng } from "@sgprop/gym";
import { describe, expect, it } from "vitest";
import { LstmCore, RnnCore } from "../src/cores.js";
import { backwardLinear, preactivations } from "../src/linear.js";

/** Random values with about a third exact zeros (the blocked loops treat zero factors specially). */
function sparse(rng: Rng, length: number): Float64Array {
  return Float64Array.from({ length }, () => (rng.float() < 0.3 ? 0 : rng.normal()));
}

const params = (rng: Rng, G: number, I: number, H: number) => ({
  w_ih: sparse(rng, G * I),
  w_hh: sparse(rng, G * H),
  b: sparse(rng, G),
});

describe("the blocked loops give the plain loops' numbers bit for bit", () => {
  // Odd sizes exercise every remainder path of the blocks.
  it.each([
    [5, 3, 7, 3],
    [4, 12, 10, 3],
    [7, 9, 5, 9],
  ])("preactivations and backwardLinear (B %s, G %s, I %s, H %s)", (B, G, I, H) => {
    const rng = Rng.derive(B * 100 + G, "bp-lambda-test/exact");
    const p = params(rng, G, I, H);
    const hStride = 2 * H;
    const x = sparse(rng, B * I);
    const h = sparse(rng, B * hStride);
    const pre = new Float64Array(B * G);
    for (let n = 0; n < B; n++)
      for (let g = 0; g < G; g++) {
        let v = p.b[g] as number;
        for (let k = 0; k < I; k++) v += (p.w_ih[g * I + k] as number) * (x[n * I + k] as number);
        for (let k = 0; k < H; k++) v += (p.w_hh[g * H + k] as number) * (h[n * hStride + k] as number);
        pre[n * G + g] = v;
      }
    expect(Array.from(preactivations(p, x, h, hStride, B, G, I, H))).toEqual(Array.from(pre));

    const dPre = sparse(rng, B * G);
    const grads = params(rng, G, I, H);
    const plain = {
      w_ih: Float64Array.from(grads.w_ih),
      w_hh: Float64Array.from(grads.w_hh),
      b: Float64Array.from(grads.b),
    };
    const dh = new Float64Array(B * H);
    for (let n = 0; n < B; n++)
      for (let g = 0; g < G; g++) {
        const d = dPre[n * G + g] as number;
        if (d === 0) continue;
        plain.b[g] = (plain.b[g] as number) + d;
        for (let k = 0; k < I; k++)
          plain.w_ih[g * I + k] = (plain.w_ih[g * I + k] as number) + d * (x[n * I + k] as number);
        for (let k = 0; k < H; k++) {
          plain.w_hh[g * H + k] = (plain.w_hh[g * H + k] as number) + d * (h[n * hStride + k] as number);
          dh[n * H + k] = (dh[n * H + k] as number) + d * (p.w_hh[g * H + k] as number);
        }
      }
    const fast = backwardLinear(p, grads, dPre, x, h, hStride, B, G, I, H);
    expect(Array.from(fast)).toEqual(Array.from(dh));
    for (const key of ["w_ih", "w_hh", "b"] as const)
      expect(Array.from(grads[key])).toEqual(Array.from(plain[key]));
  });

  it.each(["rnn", "lstm"] as const)(
    "the %s's rowJacobian multiplies as rowTimesJacobian on its dense Jacobian",
    (kind) => {
      const rng = Rng.derive(kind === "rnn" ? 1 : 2, "bp-lambda-test/exact-jacobian");
      const [B, I, H] = [3, 4, 5];
      const core = kind === "rnn" ? new RnnCore(I, H, "tanh", rng) : new LstmCore(I, H, rng);
      const S = core.stateSize;
      const prev = Float64Array.from({ length: B * S }, () => rng.normal());
      const cache = core.forward(prev, sparse(rng, B * I), B);
      const dense = core.jacobian(cache, B);
      const fast = core.rowJacobian(cache, B);
      for (const count of [1, 2, 3]) {
        const x = sparse(rng, count * B * S);
        const many = fast.timesMany
          ? fast.timesMany(x, count, new Float64Array(count * B * S))
          : new DenseRowJacobian(dense, B, S).timesMany(x, count, new Float64Array(count * B * S));
        for (let v = 0; v < count; v++) {
          const xv = x.subarray(v * B * S, (v + 1) * B * S);
          const expected = Array.from(rowTimesJacobian(xv, dense, B, S, new Float64Array(B * S)));
          expect(Array.from(fast.times(xv, new Float64Array(B * S)))).toEqual(expected);
          expect(Array.from(many.subarray(v * B * S, (v + 1) * B * S))).toEqual(expected);
        }
      }
    },
  );
});
