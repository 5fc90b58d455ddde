import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RecurrentConfigError } from "../../src/recurrent/params.js";
import { childrenGraph, temporalThetaSchedule } from "../../src/sgprop/thetaSchedule.js";

/** The schedule written as the definition reads: scan every neuron's parent list for children. */
function directSchedule(thetaBase: number[], parentIdx: number[][], T: number, rho: number): number[][] {
  const W = thetaBase.length;
  const out: number[][] = new Array(T);
  out[T - 1] = [...thetaBase];
  for (let t = T - 2; t >= 0; t--) {
    const next = out[t + 1] as number[];
    out[t] = next.map((own, i) => {
      const deficits: number[] = [];
      for (let j = 0; j < W; j++) {
        for (const p of parentIdx[j] as number[]) if (p === i) deficits.push(1 - (next[j] as number));
      }
      const mean = deficits.length === 0 ? 0 : deficits.reduce((a, b) => a + b, 0) / deficits.length;
      return Math.min(1, own + rho * mean);
    });
  }
  return out;
}

const graphs = fc
  .record({
    W: fc.integer({ min: 1, max: 12 }),
    P: fc.integer({ min: 1, max: 4 }),
    T: fc.integer({ min: 1, max: 8 }),
  })
  .chain(({ W, P, T }) =>
    fc.record({
      T: fc.constant(T),
      // Parents are distinct per neuron in the models, but the schedule is defined for any list.
      parents: fc.array(
        fc.array(fc.integer({ min: 0, max: W - 1 }), {
          minLength: Math.min(P, W),
          maxLength: Math.min(P, W),
        }),
        {
          minLength: W,
          maxLength: W,
        },
      ),
      theta: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: W, maxLength: W }),
      rho: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  );

describe("temporal theta schedule", () => {
  it("matches a direct loop over the children graph on random graphs", () => {
    fc.assert(
      fc.property(graphs, ({ T, parents, theta, rho }) => {
        const W = theta.length;
        const got = temporalThetaSchedule(theta, childrenGraph(parents.flat(), W), T, rho);
        const want = directSchedule(theta, parents, T, rho).flat();
        for (let k = 0; k < want.length; k++) expect(got[k]).toBeCloseTo(want[k] as number, 12);
      }),
      { numRuns: 200 },
    );
  });

  it("uses the base at the last step, only rises going back, and is clamped at 1", () => {
    const parents = [1, 2, 0, 0, 2, 1];
    const got = temporalThetaSchedule([0.2, 0.5, 0.9], childrenGraph(parents, 3), 30, 0.1);
    expect(Array.from(got.subarray(29 * 3))).toEqual([0.2, 0.5, 0.9]);
    for (let t = 0; t < 29; t++)
      for (let i = 0; i < 3; i++)
        expect(got[t * 3 + i]).toBeGreaterThanOrEqual(got[(t + 1) * 3 + i] as number);
    expect(Math.max(...got)).toBeLessThanOrEqual(1);
    expect(got[0]).toBeGreaterThan(0.5);
  });

  it("rejects bad parents and sizes", () => {
    expect(() => childrenGraph([0, 3], 2)).toThrow(RecurrentConfigError);
    expect(() => temporalThetaSchedule([1, 1], childrenGraph([0, 1], 2), 0)).toThrow(/numSteps/);
    expect(() => temporalThetaSchedule([1], childrenGraph([0, 1], 2), 3)).toThrow(/thetaBase/);
  });
});
