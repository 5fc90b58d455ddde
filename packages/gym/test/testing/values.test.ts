import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { arbitraryOf, firstDifference, nonMemberOf, snapshot, toSource } from "../../src/testing/index.js";
import { anySpace } from "../support/space-arbitraries.js";

const evaluate = (source: string): unknown => new Function(`return (${source});`)();

describe("toSource", () => {
  it("writes members and non-members of generated spaces as code that evaluates to an equal value (100 runs)", () => {
    fc.assert(
      fc.property(
        anySpace.chain((c) => {
          const space = c.make();
          return fc.oneof(arbitraryOf(space), nonMemberOf(space));
        }),
        (x) => {
          const source = toSource(x);
          expect(source).not.toContain("\n");
          expect(firstDifference(evaluate(source), x)).toBeUndefined();
        },
      ),
      { numRuns: 100 },
    );
  });

  it("keeps NaN, infinities and -0, quotes odd keys, and refuses functions", () => {
    const x = {
      a: [Number.NaN, -0, Number.NEGATIVE_INFINITY],
      "b-c": Float64Array.of(-0, Number.POSITIVE_INFINITY),
    };
    expect(toSource(x)).toBe('{ a: [NaN, -0, -Infinity], "b-c": Float64Array.of(-0, Infinity) }');
    expect(Object.is((evaluate(toSource(x)) as typeof x).a[1], -0)).toBe(true);
    expect(() => toSource({ f: () => 0 })).toThrow(TypeError);
  });
});

describe("firstDifference and snapshot", () => {
  it("names the path of the first difference, treating NaN as equal and typed-array classes as distinct", () => {
    expect(firstDifference({ a: [1, Number.NaN] }, { a: [1, Number.NaN] })).toBeUndefined();
    expect(firstDifference({ a: [1, 2] }, { a: [1, 3] })).toBe("a[1]: 2 vs 3");
    expect(firstDifference(Float32Array.of(1), Float64Array.of(1))).toMatch(/Float32Array.*vs.*Float64Array/);
    expect(firstDifference({ a: 1 }, { b: 1 })).toBe("value: keys [a] vs [b]");
  });

  it("copies only a view's own elements, so later writes do not leak into the copy", () => {
    const buffer = new Float32Array(8);
    const view = buffer.subarray(2, 4);
    const copy = snapshot({ obs: view });
    view[0] = 5;
    expect(copy.obs).toEqual(new Float32Array(2));
    expect(copy.obs.buffer.byteLength).toBe(8);
  });
});
