import { Rng } from "@sgprop/gym";
import { describe, expect, it } from "vitest";
import {
  cleanFeedback,
  createProblem,
  ExpertSimConfigError,
  hypercubeVertices,
  tableKeys,
} from "../src/index.js";

describe("hypercubeVertices", () => {
  it("lists every vertex of {-1,+1}^d once, bit i of r giving coordinate i", () => {
    const v = hypercubeVertices(3);
    expect(Array.from(v.subarray(0, 3))).toEqual([-1, -1, -1]);
    expect(Array.from(v.subarray(5 * 3, 6 * 3))).toEqual([1, -1, 1]);
    const rows = new Set<string>();
    for (let r = 0; r < 8; r++) rows.add(Array.from(v.subarray(r * 3, r * 3 + 3)).join(","));
    expect(rows.size).toBe(8);
  });
});

describe("createProblem", () => {
  it("is a pure function of the Rng state", () => {
    const a = createProblem({ d: 5, k: 3, m: 4 }, Rng.fromSeed(7));
    const b = createProblem({ d: 5, k: 3, m: 4 }, Rng.fromSeed(7));
    const c = createProblem({ d: 5, k: 3, m: 4 }, Rng.fromSeed(8));
    expect(a).toEqual(b);
    expect(a.jacobians).not.toEqual(c.jacobians);
  });

  it("gives each expert k distinct coordinates and N(0, 1/d) Jacobian entries", () => {
    const p = createProblem({ d: 10, k: 4, m: 6 }, Rng.fromSeed(1));
    for (let j = 0; j < 6; j++) {
      const coords = Array.from(p.expertCoords.subarray(j * 4, j * 4 + 4));
      expect(new Set(coords).size).toBe(4);
      for (const c of coords) expect(c >= 0 && c < 10).toBe(true);
    }
    let sum = 0;
    let sq = 0;
    for (const x of p.jacobians) {
      sum += x;
      sq += x * x;
    }
    const n = p.jacobians.length; // 102400 entries: the variance estimate is good to ~1%.
    expect(Math.abs(sum / n)).toBeLessThan(0.01);
    expect(sq / n).toBeGreaterThan(0.1 * 0.97);
    expect(sq / n).toBeLessThan(0.1 * 1.03);
  });

  it("rejects k > d, m < 1 and non-integer sizes", () => {
    const rng = Rng.fromSeed(0);
    expect(() => createProblem({ d: 3, k: 4, m: 2 }, rng)).toThrow(ExpertSimConfigError);
    expect(() => createProblem({ d: 3, k: 4, m: 2 }, rng)).toThrow(/k must not exceed d = 3, got 4/);
    expect(() => createProblem({ d: 3, k: 2, m: 0 }, rng)).toThrow(/m must be an integer >= 1, got 0/);
    expect(() => createProblem({ d: 2.5, k: 2, m: 1 }, rng)).toThrow(
      /d must be an integer in 1\.\.16, got 2\.5/,
    );
    expect(() => createProblem({ d: 17, k: 2, m: 1 }, rng)).toThrow(/got 17/);
  });
});

describe("cleanFeedback and tableKeys", () => {
  it("match a direct evaluation of one expert at one vertex", () => {
    const p = createProblem({ d: 4, k: 2, m: 3 }, Rng.fromSeed(3));
    const clean = cleanFeedback(p);
    const keys = tableKeys(p);
    const r = 11; // bits 1101 -> x = (+1, +1, -1, +1)
    const x = [1, 1, -1, 1];
    for (let j = 0; j < 3; j++) {
      const [c0, c1] = [p.expertCoords[j * 2]!, p.expertCoords[j * 2 + 1]!];
      const y = p.expertWeights[j * 2]! * x[c0]! + p.expertWeights[j * 2 + 1]! * x[c1]! + p.expertBiases[j]!;
      const t = p.targetWeights[j * 2]! * x[c0]! + p.targetWeights[j * 2 + 1]! * x[c1]! + p.targetBiases[j]!;
      expect(clean[r * 3 + j]).toBeCloseTo(y - t, 14);
      expect(keys[r * 3 + j]).toBe((x[c0]! > 0 ? 1 : 0) + (x[c1]! > 0 ? 2 : 0));
    }
  });

  it("gives every key to exactly 2^(d-k) partitions, with constant clean feedback inside a key", () => {
    const p = createProblem({ d: 6, k: 2, m: 4 }, Rng.fromSeed(5));
    const clean = cleanFeedback(p);
    const keys = tableKeys(p);
    for (let j = 0; j < 4; j++) {
      const count = new Map<number, number>();
      const value = new Map<number, number>();
      for (let r = 0; r < 64; r++) {
        const key = keys[r * 4 + j]!;
        count.set(key, (count.get(key) ?? 0) + 1);
        const seen = value.get(key);
        if (seen === undefined) value.set(key, clean[r * 4 + j]!);
        else expect(clean[r * 4 + j]).toBeCloseTo(seen, 14);
      }
      expect([...count.values()]).toEqual([16, 16, 16, 16]);
    }
  });
});
