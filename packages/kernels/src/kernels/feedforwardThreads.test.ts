import { Rng } from "@sgprop/gym";
import { afterAll, describe, expect, it } from "vitest";
import { disposeKernelThreads } from "../runtime.js";
import { onOneThread, withKernelHelper } from "../threads.js";
import {
  type FbResult,
  indices,
  mixCase,
  normals,
  roundUp,
  runFf,
  runMix,
  softmaxRows,
  tanhs,
} from "./feedforwardTestBlock.js";

afterAll(() => disposeKernelThreads());

/** Multiply-adds claimed for every call: above the runtime's two-thread threshold. */
const WORK = 1e9;

/** Every output of a call, read back as plain arrays (compared bit for bit by toEqual). */
type Outputs = Record<string, number[]>;

function read(r: FbResult, f32: Record<string, number>, f64: Record<string, number> = {}): Outputs {
  const out: Outputs = {};
  for (const [k, n] of Object.entries(f32)) out[k] = Array.from(r.f32(k as never, n));
  for (const [k, n] of Object.entries(f64)) out[`${k}64`] = Array.from(r.f64(k as never, n));
  return out;
}

/** Runs `run` on one thread and (once the helper joins a call) on two, and compares every bit. */
async function expectSameOnTwoThreads(run: () => Outputs): Promise<void> {
  const single = onOneThread(run);
  const double = await withKernelHelper(run);
  expect(Object.keys(double)).toEqual(Object.keys(single));
  for (const k of Object.keys(single)) {
    expect(
      single[k]?.some((v) => v !== 0),
      `${k} is not all zero`,
    ).toBe(true);
    expect(double[k], k).toEqual(single[k]);
  }
}

describe("feed-forward kernels on one and two threads (feedforward.c, mixing.c)", () => {
  it("ff_forward gives bit-identical results", async () => {
    const rng = Rng.fromSeed(11);
    const [n, w, m, q, p] = [96, 6, 3, 2, 3];
    const d = p * q;
    const mq = m * q;
    const kp = roundUp(roundUp(m, 4) + 2 * mq, 12);
    const src = tanhs(rng, n * w * q);
    const idx = indices(rng, w * p, w);
    const wp = normals(rng, w * d * kp, 0.5);
    const b = normals(rng, w * mq, 0.3);
    const sgb = normals(rng, w * mq, 0.3);
    const sizes = { U: n * w * d, ALPHA: n * w * m, Y: n * w * mq, H: n * w * q, TANH: n * w * q };
    const sgSizes = { SGLIN: n * w * mq, SGPRED: n * w * q };
    await expectSameOnTwoThreads(() =>
      read(
        runFf(
          "ff_forward",
          { N: n, W: w, M: m, Q: q, P: p, D: d, KP: kp, RESIDUAL: 1, LAYER0: 0, WITH_SG: 1, XDIM: 1 },
          { SRC: src, IDX: idx, WP: wp, B: b, SGB: sgb, ...sizes, ...sgSizes },
          n,
          4 * kp + mq + q + 32,
          WORK,
        ),
        { ...sizes, ...sgSizes },
      ),
    );
  });

  it("ff_backward gives bit-identical results", async () => {
    const rng = Rng.fromSeed(12);
    const [n, w, m, q, p] = [40, 64, 3, 2, 3];
    const d = p * q;
    const mq = m * q;
    const k1 = m + mq;
    const dp = roundUp(d, 12);
    const outs = { DZ: n * w * k1, DB: w * mq, DW: w * k1 * d, DU: n * w * d };
    const inputs = {
      G: normals(rng, n * w * q),
      ALPHA: softmaxRows(rng, n * w, m),
      Y: tanhs(rng, n * w * mq),
      TANH: tanhs(rng, n * w * q),
      U: normals(rng, n * w * d),
      WCAT: normals(rng, w * k1 * dp, 0.5),
    };
    await expectSameOnTwoThreads(() =>
      read(
        runFf(
          "ff_backward",
          { N: n, W: w, M: m, Q: q, D: d, DP: dp, RESIDUAL: 1, NEED_PARAMS: 1, NEED_DU: 1 },
          { ...inputs, ...outs },
          w,
          q + m + 16,
          WORK,
        ),
        outs,
      ),
    );
  });

  it("ff_mix gives bit-identical results (both substitutes, adaptive theta)", async () => {
    for (const mode of [0, 1]) {
      const c = mixCase(13 + mode, { n: 40, w: 64, m: 2, q: 3, d: 3 }, mode, true);
      await expectSameOnTwoThreads(() =>
        read(runMix(c, true, 1e-8, WORK), { MIXED: c.n * c.w * c.q, THETA_BATCH: c.w }, { SUMS: 4 * c.w }),
      );
    }
  });
});
