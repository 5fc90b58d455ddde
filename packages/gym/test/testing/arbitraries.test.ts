import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Box, Dict, Discrete, MultiBinary, MultiDiscrete, type Space, Tuple } from "../../src/index.js";
import { actionSequences, arbitraryOf, nonMemberOf, seeds } from "../../src/testing/index.js";
import { anySpace } from "../support/space-arbitraries.js";

/** The value fast-check shrinks to when every value fails: the arbitrary's simplest member. */
function shrunkOf<T>(arb: fc.Arbitrary<T>): T {
  const result = fc.check(
    fc.property(arb, () => false),
    { seed: 1, numRuns: 1 },
  );
  if (!result.failed || result.counterexample === null) throw new Error("the property did not fail");
  return result.counterexample[0] as T;
}

describe("arbitraryOf", () => {
  it("produces only members, for generated spaces of every kind and nesting (100 spaces)", () => {
    fc.assert(
      fc.property(
        anySpace.chain((c) => {
          const space = c.make();
          return fc.tuple(fc.constant(space), fc.array(arbitraryOf(space), { minLength: 1, maxLength: 5 }));
        }),
        ([space, values]) => {
          for (const x of values) expect(space.mismatch(x)).toBeUndefined();
        },
      ),
      { numRuns: 100 },
    );
  });

  it("covers infinite bounds with finite members, and every Box dtype", () => {
    const spaces: Space<unknown>[] = [
      new Box(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, [4]),
      new Box(Number.NEGATIVE_INFINITY, -1, [2], "float64"),
      new Box(3, Number.POSITIVE_INFINITY, [2], "float64"),
      new Box(-(2 ** 31), 2 ** 31 - 1, [3], "int32"),
      new Box(-(2 ** 52), 2 ** 52, [3], "int64"),
      new Box(0, 255, [3], "uint8"),
      new Box(0, 1, [3], "bool"),
      new Discrete(3, { start: 2 ** 40 }),
    ];
    for (const space of spaces) {
      fc.assert(
        fc.property(arbitraryOf(space), (x) => space.contains(x)),
        { numRuns: 50 },
      );
    }
  });

  it("shrinks towards the member closest to zero", () => {
    expect(shrunkOf(arbitraryOf(new Discrete(5, { start: 3 })))).toBe(3);
    expect(shrunkOf(arbitraryOf(new Discrete(5, { start: -7 })))).toBe(-3);
    expect(shrunkOf(arbitraryOf(new MultiDiscrete([3, 4], { start: [-1, 2] })))).toEqual(Int32Array.of(0, 2));
    expect(shrunkOf(arbitraryOf(new MultiBinary([2, 2])))).toEqual(new Uint8Array(4));
    expect(shrunkOf(arbitraryOf(new Box([-2, 2, -5], [5, 6, -1], [3])))).toEqual(Float32Array.of(0, 2, -1));
    expect(shrunkOf(arbitraryOf(new Box(3, 9, [2], "int32")))).toEqual(Int32Array.of(3, 3));
    expect(shrunkOf(arbitraryOf(new Box(Number.NEGATIVE_INFINITY, -1.5, [1], "float64")))).toEqual(
      Float64Array.of(-1.5),
    );
    const nested = new Dict({
      b: new Tuple([new Discrete(2, { start: 1 }), new Box(-1, 1, [1])]),
      a: new Discrete(4),
    });
    expect(shrunkOf(arbitraryOf(nested))).toEqual({ a: 0, b: [1, Float32Array.of(0)] });
  });
});

describe("nonMemberOf", () => {
  it("produces only non-members, for generated spaces of every kind (100 spaces)", () => {
    fc.assert(
      fc.property(
        anySpace.chain((c) => {
          const space = c.make();
          return fc.tuple(fc.constant(space), fc.array(nonMemberOf(space), { minLength: 1, maxLength: 5 }));
        }),
        ([space, values]) => {
          for (const x of values) expect(space.contains(x)).toBe(false);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("handles empty composites", () => {
    for (const space of [new Tuple([]), new Dict({})]) {
      expect(shrunkOf(arbitraryOf(space))).toEqual(space instanceof Tuple ? [] : {});
      for (const x of fc.sample(nonMemberOf(space), { seed: 1, numRuns: 50 }))
        expect(space.contains(x)).toBe(false);
    }
  });

  it("reaches every kind of defect: shape, dtype, range, NaN, type, parts", () => {
    const box = new Box(0, 1, [3]);
    const reasons = new Set(
      fc.sample(nonMemberOf(box), { seed: 7, numRuns: 300 }).map((x) => {
        const why = box.mismatch(x) ?? "";
        return /shape/.test(why)
          ? "shape"
          : /expected a/.test(why)
            ? "type"
            : /NaN/.test(why)
              ? "nan"
              : /outside/.test(why)
                ? "range"
                : /not finite/.test(why)
                  ? "inf"
                  : why;
      }),
    );
    expect([...reasons].sort()).toEqual(["inf", "nan", "range", "shape", "type"]);
    const dict = new Dict({ a: new Discrete(2), b: new MultiBinary(2) });
    const why = fc.sample(nonMemberOf(dict), { seed: 7, numRuns: 300 }).map((x) => dict.mismatch(x) ?? "");
    expect(why.some((w) => /missing: \[a\]/.test(w))).toBe(true);
    expect(why.some((w) => /unexpected/.test(w))).toBe(true);
    expect(why.some((w) => /^key "b": entry/.test(w))).toBe(true);
  });
});

describe("seeds and actionSequences", () => {
  it("stay in the given domain, reach its small seeds, and shrink to its minimum", () => {
    const domain = { min: 5, max: 2 ** 32 - 1 };
    const drawn = fc.sample(seeds(domain), { seed: 3, numRuns: 500 });
    for (const s of drawn) expect(s >= 5 && s <= 2 ** 32 - 1 && Number.isInteger(s)).toBe(true);
    expect(drawn.filter((s) => s < 37).length).toBeGreaterThan(50);
    expect(drawn.some((s) => s > 2 ** 31)).toBe(true);
    expect(shrunkOf(seeds(domain))).toBe(5);
    expect(() => seeds({ min: 3, max: 2 })).toThrow(RangeError);
  });

  it("actionSequences holds actions of the env's space, within the length bounds", () => {
    const actionSpace = new MultiDiscrete([2, 3]);
    fc.assert(
      fc.property(actionSequences({ actionSpace }, { minLength: 2, maxLength: 4 }), (actions) => {
        expect(actions.length).toBeGreaterThanOrEqual(2);
        expect(actions.length).toBeLessThanOrEqual(4);
        for (const a of actions) expect(actionSpace.contains(a)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });
});
