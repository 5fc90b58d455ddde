import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidSeedError, Rng } from "../src/random.js";

describe("Rng", () => {
  it("same seed, same stream; state round-trips", () => {
    fc.assert(
      fc.property(fc.nat(), (seed) => {
        const a = Rng.fromSeed(seed);
        const b = Rng.fromSeed(seed);
        const xs = Array.from({ length: 5 }, () => a.float());
        expect(Array.from({ length: 5 }, () => b.float())).toEqual(xs);
        const saved = a.state();
        const next = a.uint32();
        expect(Rng.fromState(saved).uint32()).toBe(next);
      }),
      { numRuns: 100 },
    );
  });

  it("seeds above 2^32 differ from their low bits", () => {
    expect(Rng.fromSeed(2 ** 32 + 5).uint32()).not.toBe(Rng.fromSeed(5).uint32());
  });

  it("a seed above 2^32 does not replay another seed's stream a few draws later", () => {
    // Whether b's first 4 outputs appear within a's first 40 (a shifted copy of a's stream).
    const shifted = (a: Rng, b: Rng) => {
      const xs = Array.from({ length: 40 }, () => a.uint32());
      const head = Array.from({ length: 4 }, () => b.uint32()).join(",");
      return xs.some((_, i) => xs.slice(i, i + 4).join(",") === head);
    };
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 2 ** 21 - 2 }), (k, hi) => {
        const big = hi * 2 ** 32 + k;
        // The small seed that the former folding (k ^ hi * golden ratio) mapped `big` onto.
        const folded = (k ^ Math.imul(hi, 0x9e3779b1)) >>> 0;
        expect(shifted(Rng.fromSeed(folded), Rng.fromSeed(big))).toBe(false);
        expect(shifted(Rng.fromSeed(big), Rng.fromSeed(folded))).toBe(false);
        expect(shifted(Rng.fromSeed(big), Rng.fromSeed(big + 2 ** 32))).toBe(false);
        expect(shifted(Rng.fromSeed(big), Rng.fromSeed(big))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it("keeps pure-rand's streams for seeds below 2^32", () => {
    expect(Rng.fromSeed(0).state()).toEqual([-1, -1, 0, 0]);
    expect(Rng.fromSeed(2 ** 32 - 1).state()).toEqual([-1, 0, -1, 0]);
  });

  it("bernoulli rejects probabilities outside [0, 1]", () => {
    const rng = Rng.fromSeed(1);
    for (const p of [Number.NaN, -0.1, 1.5]) expect(() => rng.bernoulli(p)).toThrow(/p in \[0, 1\]/);
    expect([rng.bernoulli(0), rng.bernoulli(1)]).toEqual([false, true]);
  });

  it("rejects bad seeds", () => {
    for (const s of [-1, 1.5, Number.NaN, 2 ** 60]) expect(() => Rng.fromSeed(s)).toThrow(InvalidSeedError);
  });

  it("integer stays in range and sampleWithoutReplacement is distinct", () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 50 }), (seed, n) => {
        const r = Rng.fromSeed(seed);
        const v = r.integer(-3, n);
        expect(v).toBeGreaterThanOrEqual(-3);
        expect(v).toBeLessThanOrEqual(n);
        const k = r.integer(0, n);
        const s = r.sampleWithoutReplacement(n, k);
        expect(new Set(s).size).toBe(k);
        expect(s.every((x) => x >= 0 && x < n)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it("normal draws have roughly unit variance", () => {
    const r = Rng.fromSeed(7);
    let s = 0;
    let s2 = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const x = r.normal();
      s += x;
      s2 += x * x;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.05);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.05);
  });
});
