import { Rng } from "@sgprop/gym";
import { describe, expect, it } from "vitest";
import {
  bestThetaOnGrid,
  eq3ThetaFromPool,
  estimatorError,
  mixtureCoefficients,
  targetVariance,
} from "../../src/diagnose/estimatorErrors.js";
import { PoolMomentAccumulator, type PoolMoments } from "../../src/diagnose/poolMoments.js";

const KINDS = ["backprop", "live", "synthetic"] as const;

/** Indexing the test's own arrays, whose bounds the loops guarantee (noUncheckedIndexedAccess). */
function get<T>(list: ArrayLike<T>, i: number): T {
  return list[i] as T;
}
const BACKPROP = { kind: "pool", coefficients: [1, 0, 0] } as const;

/** A pool where live = backprop + small noise and synthetic = a biased, low-variance guess. */
function drawPool(rng: Rng, samples: number, sizes: number[], shift = 0.3): Float64Array[][][] {
  const pool: Float64Array[][][] = [];
  const means = sizes.map((size) => Float64Array.from({ length: size }, () => rng.normal()));
  for (let n = 0; n < samples; n++) {
    const b = sizes.map((size, i) =>
      Float64Array.from({ length: size }, (_, d) => get(get(means, i), d) + rng.normal(0, 2)),
    );
    const l = b.map((v) => v.map((x) => x + rng.normal(0, 0.2)));
    const s = sizes.map((size, i) =>
      Float64Array.from(
        { length: size },
        (_, d) => get(get(means, i), d) + shift + rng.normal(0, 0.3) + 0.2 * get(get(b, i), d),
      ),
    );
    pool.push([b, l, s]);
  }
  return pool;
}

function momentsOf(pool: Float64Array[][][], sizes: number[]): PoolMoments {
  const acc = new PoolMomentAccumulator(KINDS, sizes);
  for (const sample of pool) acc.add(sample);
  return acc.moments();
}

function meanOf(pool: Float64Array[][][], kind: number, unit: number, coeff = 1): Float64Array {
  const out = new Float64Array(get(get(get(pool, 0), kind), unit).length);
  for (const sample of pool) {
    get(get(sample, kind), unit).forEach((x, d) => {
      out[d] = get(out, d) + (coeff * x) / pool.length;
    });
  }
  return out;
}

describe("estimator errors from pool moments", () => {
  const sizes = [5, 3];
  const pool = drawPool(Rng.derive(1, "test/diagnose/pool"), 300, sizes);
  const m = momentsOf(pool, sizes);

  it("match explicit resampling of batches from the pool", () => {
    const rng = Rng.derive(1, "test/diagnose/resample");
    const batch = 8;
    const theta = [0.7, 0.4];
    const c = mixtureCoefficients(3, 1, 2, theta);
    const predicted = estimatorError(m, c, batch, BACKPROP);
    const trials = 20000;
    for (let i = 0; i < sizes.length; i++) {
      const target = meanOf(pool, 0, i);
      const size = get(sizes, i);
      const th = get(theta, i);
      let sum = 0;
      for (let t = 0; t < trials; t++) {
        const est = new Float64Array(size);
        for (let j = 0; j < batch; j++) {
          const s = get(pool, rng.integer(0, pool.length - 1));
          const live = get(get(s, 1), i);
          const synthetic = get(get(s, 2), i);
          for (let d = 0; d < size; d++)
            est[d] = get(est, d) + (th * get(live, d) + (1 - th) * get(synthetic, d)) / batch;
        }
        for (let d = 0; d < size; d++) sum += (get(est, d) - get(target, d)) ** 2;
      }
      const measured = sum / trials;
      // Resampling with replacement: variance with divisor N, pool bias uncorrected.
      const expected =
        (get(predicted.variance, i) * (pool.length - 1)) / pool.length + get(predicted.bias2Raw, i);
      expect(Math.abs(measured - expected) / expected).toBeLessThan(0.04);
    }
  });

  it("give identical rows for backprop and a theta = 1 mixture when live equals backprop", () => {
    const same = pool.map((sample) => [get(sample, 0), get(sample, 0), get(sample, 2)]);
    const ms = momentsOf(same, sizes);
    const bp = estimatorError(ms, [1, 0, 0], 16, BACKPROP);
    const mix = estimatorError(ms, mixtureCoefficients(3, 1, 2, 1), 16, BACKPROP);
    expect(Array.from(mix.mse)).toEqual(Array.from(bp.mse));
    expect(Array.from(bp.bias2)).toEqual([0, 0]);
  });

  it("correct the squared bias for the pool's own sampling noise", () => {
    // Population: b ~ N(0, I), s ~ N(delta, I) independent, ||delta||^2 = 1 in 20 dimensions.
    const dim = 20;
    const rng = Rng.derive(2, "test/diagnose/bias");
    const delta = 1 / Math.sqrt(dim);
    let corrected = 0;
    let raw = 0;
    const pools = 300;
    for (let p = 0; p < pools; p++) {
      const acc = new PoolMomentAccumulator(["backprop", "synthetic"], [dim]);
      for (let n = 0; n < 50; n++) {
        const b = Float64Array.from({ length: dim }, () => rng.normal());
        const s = Float64Array.from({ length: dim }, () => delta + rng.normal());
        acc.add([[b], [s]]);
      }
      const e = estimatorError(acc.moments(), [0, 1], 1, BACKPROP_2);
      corrected += get(e.bias2, 0) / pools;
      raw += get(e.bias2Raw, 0) / pools;
    }
    expect(corrected).toBeGreaterThan(0.9);
    expect(corrected).toBeLessThan(1.1);
    expect(raw).toBeGreaterThan(1.6); // 1 + 2 * 20 / 50 without the correction
  });

  it("report a target variance that falls as 1/N", () => {
    const rng = Rng.derive(3, "test/diagnose/se");
    const small = targetVariance(momentsOf(drawPool(rng, 100, sizes), sizes), BACKPROP);
    const large = targetVariance(momentsOf(drawPool(rng, 1600, sizes), sizes), BACKPROP);
    for (let i = 0; i < sizes.length; i++) {
      const ratio = get(small, i) / get(large, i);
      expect(ratio).toBeGreaterThan(16 * 0.7);
      expect(ratio).toBeLessThan(16 / 0.7);
    }
  });

  it("find on the grid the theta eq. 3 gives in the population limit, against the received mean", () => {
    const received = { kind: "pool", coefficients: [0, 1, 0] } as const;
    for (const batch of [4, 64]) {
      const grid = bestThetaOnGrid(m, 1, 2, batch, received);
      const eq3 = eq3ThetaFromPool(m, 1, 2, batch);
      for (let i = 0; i < sizes.length; i++)
        expect(Math.abs(get(grid.theta, i) - get(eq3, i))).toBeLessThanOrEqual(0.006);
    }
    // Small batches favour the low-variance synthetic gradient more than large ones.
    const t4 = eq3ThetaFromPool(m, 1, 2, 4);
    const t64 = eq3ThetaFromPool(m, 1, 2, 64);
    expect(get(t4, 0)).toBeLessThan(get(t64, 0));
  });

  it("measure against an exact target", () => {
    const target = [meanOf(pool, 0, 0), meanOf(pool, 0, 1)];
    const sums = [0, 1, 2].flatMap((k) => sizes.map((_, i) => meanOf(pool, k, i, pool.length)));
    const innerWithSums = Float64Array.from(sums, (s, idx) =>
      s.reduce((a, x, d) => a + x * get(get(target, idx % 2), d), 0),
    );
    const normSq = Float64Array.from(target, (t) => t.reduce((a, x) => a + x * x, 0));
    const exact = estimatorError(m, [0, 0, 1], 8, { kind: "exact", innerWithSums, normSq });
    const pooled = estimatorError(m, [0, 0, 1], 8, BACKPROP);
    for (let i = 0; i < sizes.length; i++) {
      expect(get(exact.bias2Raw, i)).toBeCloseTo(get(pooled.bias2Raw, i), 9);
      expect(get(exact.variance, i)).toBe(get(pooled.variance, i));
    }
  });

  it("reject a pool of one sample and a bad batch size", () => {
    const acc = new PoolMomentAccumulator(KINDS, [2]);
    acc.add([[new Float64Array(2)], [new Float64Array(2)], [new Float64Array(2)]]);
    expect(() => estimatorError(acc.moments(), [1, 0, 0], 8, BACKPROP)).toThrow(/at least 2 samples/);
    expect(() => estimatorError(m, [1, 0, 0], 0, BACKPROP)).toThrow(/batch size/);
    expect(() => estimatorError(m, [1, 0], 8, BACKPROP)).toThrow(/3 coefficients/);
  });
});

const BACKPROP_2 = { kind: "pool", coefficients: [1, 0] } as const;
