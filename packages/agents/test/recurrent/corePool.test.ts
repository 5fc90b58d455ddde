import { Rng } from "@sgprop/gym";
import { disposeKernelThreads, kernelHelperChunks, onOneThread, withKernelHelper } from "@sgprop/kernels";
import { afterAll, describe, expect, it } from "vitest";
import {
  allocTrace,
  backwardParallel,
  type CoreSizes,
  coreBackward,
  coreEstimatorSums,
  corePredictions,
  coreSgLoss,
  estimatorSumsParallel,
  predictionsParallel,
  sgLossParallel,
  startPredictions,
  startSgLoss,
} from "../../src/recurrent/index.js";

// Large enough to pass the pool's hand-off threshold (rows x neurons >= 4096).
const s: CoreSizes = { W: 32, q: 3, P: 3, M: 2, Ni: 4, Pq: 9, Mq: 6, C: 8, D: 17 };
const R = 300;

function filled(a: Float32Array, rng: Rng): Float32Array {
  for (let i = 0; i < a.length; i++) a[i] = rng.normal();
  return a;
}

describe("core worker pool", () => {
  afterAll(() => disposeKernelThreads());

  it("splits predictions, the SG loss and eq. 3 sums across threads with bit-identical results", async () => {
    const rng = Rng.fromSeed(7);
    const trace = allocTrace(s, R);
    filled(trace.uPar, rng);
    filled(trace.y, rng);
    for (let i = 0; i < trace.alpha.length; i++) trace.alpha[i] = rng.float();
    const sgParT = filled(new Float32Array(s.W * s.Mq * s.Pq), rng);
    const sgBias = filled(new Float32Array(s.W * s.Mq), rng);
    const sgExt = filled(new Float32Array(R * s.Ni * s.Mq), rng);
    const g = filled(new Float32Array(R * s.W * s.q), rng);
    const sub = filled(new Float32Array(R * s.W * s.q), rng);
    const emb = filled(new Float32Array(R * (s.D - s.Pq)), rng);
    const rows = Int32Array.from({ length: R }, (_, r) => r).filter((r) => r % 7 !== 3);

    const wantPred = onOneThread(() => corePredictions(s, sgParT, sgBias, sgExt, trace));
    expect(await withKernelHelper(() => predictionsParallel(s, sgParT, sgBias, sgExt, trace))).toEqual(
      wantPred,
    );
    // The embedding term from embedding rows and maps: same split, and the values of e sgEmb.
    const E = s.D - s.Pq;
    const sgEmb = filled(new Float32Array(E * s.Ni * s.Mq), rng);
    const fromRows = await withKernelHelper(() =>
      predictionsParallel(s, sgParT, sgBias, { emb, maps: sgEmb }, trace),
    );
    expect(fromRows).toEqual(
      onOneThread(() => corePredictions(s, sgParT, sgBias, { emb, maps: sgEmb }, trace)),
    );
    const ext = new Float32Array(R * s.Ni * s.Mq);
    for (let r = 0; r < R; r++)
      for (let c = 0; c < s.Ni * s.Mq; c++) {
        let acc = 0;
        for (let e = 0; e < E; e++)
          acc += (emb[r * E + e] as number) * (sgEmb[e * s.Ni * s.Mq + c] as number);
        ext[r * s.Ni * s.Mq + c] = acc;
      }
    const fromExt = corePredictions(s, sgParT, sgBias, ext, trace);
    for (let x = 0; x < fromExt.length; x++)
      expect(fromRows[x] as number).toBeCloseTo(fromExt[x] as number, 4);
    const par = await withKernelHelper(() => estimatorSumsParallel(s, trace, g, sub, rows, emb));
    const one = onOneThread(() => coreEstimatorSums(s, trace, g, sub, rows, emb));
    for (const key of ["sumDd", "sumWd", "barDd", "barWd"] as const) {
      expect(Array.from(par[key])).toEqual(Array.from(one[key]));
    }
    expect(par.n).toBe(rows.length);
    const valid = Float32Array.from({ length: R }, (_, r) => (r % 7 !== 3 ? 1 : 0));
    const sgPar = await withKernelHelper(() => sgLossParallel(s, trace, g, sub, valid, emb));
    const sgOne = onOneThread(() => coreSgLoss(s, trace, g, sub, valid, emb));
    expect(sgPar.loss).toBe(sgOne.loss);
    // Two phases started together while this thread does something else, finished in the other
    // order: same numbers.
    const [sgLate, predLate] = await withKernelHelper(() => {
      const pendingPred = startPredictions(s, sgParT, sgBias, sgExt, trace);
      const pendingSg = startSgLoss(s, trace, g, sub, valid, emb);
      return [pendingSg.finish(), pendingPred.finish()] as const;
    });
    expect(sgLate.dsgEmb).toEqual(sgOne.dsgEmb);
    expect(predLate).toEqual(wantPred);
    expect(sgOne.dsgEmb.some((x) => x !== 0)).toBe(true);
    for (const key of ["dsgPar", "dsgBias", "dzIn", "dsgEmb"] as const) {
      expect(Array.from(sgPar[key])).toEqual(Array.from(sgOne[key]));
    }
    expect(one.sumDd.some((x) => x !== 0)).toBe(true);
  });

  it("splits the backward pass by environment with bit-identical results", async () => {
    const rng = Rng.fromSeed(9);
    const T = 12;
    const B = 25;
    const trace = allocTrace(s, T * B);
    filled(trace.uPar, rng);
    filled(trace.y, rng);
    for (let i = 0; i < trace.alpha.length; i++) trace.alpha[i] = rng.float();
    const maps = {
      wPar: filled(new Float32Array(s.W * s.Pq * s.C), rng),
      bias: new Float32Array(s.W * s.C),
      parentIdx: Int32Array.from({ length: s.W * s.P }, () => rng.integer(0, s.W - 1)),
    };
    const dActor = filled(new Float32Array(T * B * s.W * s.q), rng);
    const keep = Float32Array.from({ length: T * B }, () => (rng.float() < 0.1 ? 0 : 1));
    const mixing = {
      theta: Float64Array.from({ length: T * s.W }, () => rng.float()),
      positiveProjection: true,
      pred: filled(new Float32Array(T * B * s.W * s.q), rng),
    };
    const E = s.D - s.Pq;
    const embedding = {
      emb: filled(new Float32Array(T * B * E), rng),
      maps: filled(new Float32Array(E * s.Ni * s.C), rng),
    };
    const par = await withKernelHelper(() =>
      backwardParallel(s, maps, trace, dActor, keep, T, B, mixing, embedding),
    );
    const one = onOneThread(() => coreBackward(s, maps, trace, dActor, keep, T, B, mixing, embedding));
    for (const key of [
      "trueGrad",
      "mixedGrad",
      "substitute",
      "dwPar",
      "dBias",
      "dzIn",
      "dWemb",
      "de",
    ] as const) {
      expect(Array.from(par[key] ?? [])).toEqual(Array.from(one[key] ?? []));
    }
    expect(one.dwPar.some((x) => x !== 0)).toBe(true);
    expect(one.dWemb?.some((x) => x !== 0)).toBe(true);
    // de = dzIn wEmb^T row by row.
    const r = 7;
    let want = 0;
    for (let c = 0; c < s.Ni * s.C; c++)
      want += (one.dzIn[r * s.Ni * s.C + c] as number) * (embedding.maps[c] as number);
    // A float32 sum of Ni*C products against a float64 one: relative, not absolute, agreement.
    expect(Math.abs((one.de?.[r * E] as number) - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
  });

  it("stays on the main thread with SGPROP_CORE_THREADS=1 or below the hand-off size", () => {
    const rng = Rng.fromSeed(8);
    const small = allocTrace(s, 4);
    filled(small.uPar, rng);
    filled(small.alpha, rng);
    const sgParT = filled(new Float32Array(s.W * s.Mq * s.Pq), rng);
    const sgBias = new Float32Array(s.W * s.Mq);
    const before = kernelHelperChunks();
    const expected = corePredictions(s, sgParT, sgBias, new Float32Array(4 * s.Ni * s.Mq), small);
    expect(predictionsParallel(s, sgParT, sgBias, new Float32Array(4 * s.Ni * s.Mq), small)).toEqual(
      expected,
    );
    const saved = process.env.SGPROP_CORE_THREADS;
    process.env.SGPROP_CORE_THREADS = "1";
    try {
      const big = allocTrace(s, R);
      filled(big.uPar, rng);
      predictionsParallel(s, sgParT, sgBias, new Float32Array(R * s.Ni * s.Mq), big);
    } finally {
      if (saved === undefined) delete process.env.SGPROP_CORE_THREADS;
      else process.env.SGPROP_CORE_THREADS = saved;
    }
    expect(kernelHelperChunks()).toBe(before);
  });
});
