import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidSeedError, InvalidSpaceError } from "../src/errors.js";
import { Box } from "../src/spaces/box.js";
import { Dict } from "../src/spaces/dict.js";
import { Discrete } from "../src/spaces/discrete.js";
import { flatdim, flatten, flattenSpace, unflatten } from "../src/spaces/flatten.js";
import { MultiBinary } from "../src/spaces/multi-binary.js";
import { MultiDiscrete } from "../src/spaces/multi-discrete.js";
import type { Space } from "../src/spaces/space.js";
import { Tuple } from "../src/spaces/tuple.js";
import { type SpaceCase, spaceKinds } from "./support/space-arbitraries.js";

const RUNS = { numRuns: 100 };

/** Values that differ from the valid sample `x` in one way each and must be rejected. */
function corruptions(space: Space<unknown>, x: unknown): [string, unknown][] {
  const out: [string, unknown][] = [];
  if (space instanceof Discrete) {
    out.push(["below", space.start - 1], ["above", space.start + space.n], ["fraction", (x as number) + 0.5]);
    out.push(["NaN", Number.NaN], ["inf", Number.POSITIVE_INFINITY], ["string", String(x)], ["array", [x]]);
  } else if (space instanceof MultiDiscrete || space instanceof MultiBinary || space instanceof Box) {
    const arr = x as Int32Array | Uint8Array | Float32Array | Float64Array;
    const Ctor = arr.constructor as new (n: number | ArrayLike<number>) => typeof arr;
    const other = arr instanceof Float32Array ? Float64Array : Float32Array;
    out.push(["plain array", Array.from(arr)], ["other dtype", other.from(arr)]);
    const longer = new Ctor(arr.length + 1);
    longer.set(arr);
    out.push(["longer", longer], ["shorter", arr.slice(0, -1)]);
    const low = space instanceof MultiDiscrete ? space.start : space instanceof Box ? space.low : undefined;
    const high =
      space instanceof MultiDiscrete
        ? space.start.map((s, i) => s + (space.nvec[i] as number) - 1)
        : space instanceof Box
          ? space.high
          : new Uint8Array(arr.length).fill(1);
    for (let i = 0; i < arr.length; i++) {
      const hi = high[i] as number;
      const lo = low?.[i] as number | undefined;
      if (Number.isFinite(hi)) {
        const bad = new Ctor(arr);
        bad[i] = hi + Math.max(1, Math.abs(hi));
        if ((bad[i] as number) > hi) out.push([`above at ${i}`, bad]);
      }
      if (lo !== undefined && Number.isFinite(lo)) {
        const bad = new Ctor(arr);
        bad[i] = lo - Math.max(1, Math.abs(lo));
        if ((bad[i] as number) < lo) out.push([`below at ${i}`, bad]);
      }
    }
    if (arr instanceof Float32Array || arr instanceof Float64Array) {
      for (const v of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
        const bad = new Ctor(arr);
        bad[0] = v;
        out.push([`non-finite ${v}`, bad]);
      }
    }
  } else if (space instanceof Tuple) {
    const xs = x as unknown[];
    out.push(["shorter", xs.slice(0, -1)], ["longer", [...xs, xs[0]]], ["object", { ...xs }]);
    space.spaces.forEach((sub: Space<unknown>, i: number) => {
      for (const [label, bad] of corruptions(sub, xs[i])) {
        const copy = [...xs];
        copy[i] = bad;
        out.push([`entry ${i} ${label}`, copy]);
      }
    });
  } else if (space instanceof Dict) {
    const obj = x as Record<string, unknown>;
    const [first] = space.keys;
    const { [first as string]: _dropped, ...missing } = obj;
    out.push(
      ["missing key", missing],
      ["extra key", { ...obj, "extra key!": 1 }],
      ["array", Object.values(obj)],
    );
    for (const k of space.keys) {
      for (const [label, bad] of corruptions(space.spaces[k] as Space<unknown>, obj[k])) {
        out.push([`key ${k} ${label}`, { ...obj, [k]: bad }]);
      }
    }
  }
  return out;
}

function roundedThroughFloat32(space: Space<unknown>, x: unknown): unknown {
  // flatten goes through float32, so array values come back rounded the same way.
  if (space instanceof Box) {
    const copy = (x as Float64Array).slice();
    for (let i = 0; i < copy.length; i++) copy[i] = Math.fround(copy[i] as number);
    return copy;
  }
  if (space instanceof Tuple)
    return space.spaces.map((s: Space<unknown>, i: number) => roundedThroughFloat32(s, (x as unknown[])[i]));
  if (space instanceof Dict) {
    const obj = x as Record<string, unknown>;
    return Object.fromEntries(
      space.keys.map((k) => [k, roundedThroughFloat32(space.spaces[k] as Space<unknown>, obj[k])]),
    );
  }
  return x;
}

describe.each(Object.entries(spaceKinds))("%s", (_kind, arb: fc.Arbitrary<SpaceCase>) => {
  it("samples are contained and the same seed gives the same samples", () => {
    fc.assert(
      fc.property(arb, fc.nat(), ({ make }, seed) => {
        const a = make();
        const b = make();
        expect(a.seed(seed)).toBe(seed);
        b.seed(seed);
        for (let i = 0; i < 4; i++) {
          const x = a.sample();
          expect(a.mismatch(x)).toBeUndefined();
          expect(b.sample()).toEqual(x);
        }
      }),
      RUNS,
    );
  });

  it("rejects wrong shape, wrong dtype, out-of-range and non-finite values", () => {
    fc.assert(
      fc.property(arb, fc.nat(), ({ make }, seed) => {
        const space = make();
        space.seed(seed);
        const x = space.sample();
        const bad = corruptions(space, x);
        expect(bad.length).toBeGreaterThan(2);
        for (const [label, value] of bad) {
          expect(space.contains(value), `${label}: ${String(value)}`).toBe(false);
        }
        for (const other of [undefined, null, "x", {}, Symbol("s")])
          expect(space.contains(other)).toBe(false);
      }),
      RUNS,
    );
  });

  it("flatten/unflatten round-trip; flatdim is the flat length; flattenSpace contains the flat value", () => {
    fc.assert(
      fc.property(arb, fc.nat(), ({ make }, seed) => {
        const space = make();
        space.seed(seed);
        const x = space.sample();
        const flat = flatten(space, x);
        expect(flat).toBeInstanceOf(Float32Array);
        expect(flat.length).toBe(flatdim(space));
        const back = unflatten(space, flat);
        expect(space.contains(back)).toBe(true);
        expect(back).toEqual(roundedThroughFloat32(space, x));
        expect(flatten(space, back)).toEqual(flat);
        const box = flattenSpace(space);
        expect(box.shape).toEqual([flatdim(space)]);
        expect(box.mismatch(flat)).toBeUndefined();
      }),
      RUNS,
    );
  });

  it("equals is structural; toString is stable", () => {
    fc.assert(
      fc.property(arb, ({ make }) => {
        const a = make();
        const b = make();
        expect(a.equals(b)).toBe(true);
        expect(a.toString()).toBe(b.toString());
        expect(a.equals(new Discrete(1001, { start: 5000 }))).toBe(false);
      }),
      RUNS,
    );
  });
});

describe("flattening conventions (Gymnasium)", () => {
  it("Discrete and MultiDiscrete become one-hot; Dict orders keys", () => {
    expect(Array.from(flatten(new Discrete(4, { start: 1 }), 3))).toEqual([0, 0, 1, 0]);
    const md = new MultiDiscrete([2, 3], { start: [0, -1] });
    expect(Array.from(flatten(md, Int32Array.of(1, 0)))).toEqual([0, 1, 0, 1, 0]);
    const d = new Dict({ b: new Discrete(2), a: new Box(-1, 1, [2]) });
    expect(d.keys).toEqual(["a", "b"]);
    expect(Array.from(flatten(d, { a: Float32Array.of(0.5, -0.5), b: 1 }))).toEqual([0.5, -0.5, 0, 1]);
    const t = new Tuple([new MultiBinary([2, 2]), new Discrete(2)]);
    expect(flatdim(t)).toBe(6);
    expect(flattenSpace(t).toString()).toBe("Box(0.0, 1.0, (6,), float32)");
    expect(flattenSpace(new Box([-1, 0], [Infinity, 2])).toString()).toBe(
      "Box([-1.0, 0.0], [inf, 2.0], (2,), float32)",
    );
  });

  it("refuses values it cannot encode", () => {
    expect(() => flatten(new Discrete(3), 3)).toThrow(RangeError);
    expect(() => unflatten(new Discrete(3), [0, 0, 0])).toThrow(/all zeros/);
    expect(() => unflatten(new Box(0, 1, [3]), [0, 0])).toThrow(/needs 3 values, got 2/);
  });
});

describe("space construction and printing", () => {
  it("prints like Gymnasium", () => {
    expect(new Discrete(4).toString()).toBe("Discrete(4)");
    expect(new Discrete(4, { start: -2 }).toString()).toBe("Discrete(4, start=-2)");
    expect(new Box(0, 1, [56]).toString()).toBe("Box(0.0, 1.0, (56,), float32)");
    expect(new Box(0, 255, [2, 3], "uint8").toString()).toBe("Box(0, 255, (2, 3), uint8)");
    expect(new Box(0.1, [0.3, 1e20], undefined).toString()).toBe(
      "Box(0.1, [0.3, 100000000000000000000], (2,), float32)",
    );
    expect(new Box(-Infinity, 0.1, [1], "float64").toString()).toBe("Box(-inf, 0.1, (1,), float64)");
    expect(new MultiDiscrete([3, 4]).toString()).toBe("MultiDiscrete([3, 4])");
    expect(new MultiBinary([2, 3]).toString()).toBe("MultiBinary([2, 3])");
    expect(new Tuple([new Discrete(2), new MultiBinary(3)]).toString()).toBe(
      "Tuple(Discrete(2), MultiBinary(3))",
    );
    expect(new Dict({ y: new Discrete(2), x: new Discrete(3) }).toString()).toBe(
      "Dict('x': Discrete(3), 'y': Discrete(2))",
    );
  });

  it("rejects impossible parameters with the offending value", () => {
    expect(() => new Discrete(0)).toThrow(InvalidSpaceError);
    expect(() => new Discrete(2.5)).toThrow(/2.5/);
    expect(() => new MultiDiscrete([2, -1])).toThrow(/nvec\[1\].*-1/);
    expect(() => new MultiBinary([2, 0])).toThrow(InvalidSpaceError);
    expect(() => new Box(1, 0, [2])).toThrow(/low\[0\] = 1 exceeds high\[0\] = 0/);
    expect(() => new Box(0, Number.NaN, [1])).toThrow(InvalidSpaceError);
    expect(() => new Box(0, 1.5, [1], "int32")).toThrow(/1.5/);
    expect(() => new Box(0, Infinity, [1], "int32")).toThrow(InvalidSpaceError);
    expect(() => new Box([0, 0], [1, 1, 1])).toThrow(/high has 3 values/);
    expect(() => new Discrete(2).seed(-1)).toThrow(InvalidSeedError);
  });

  it("samples the full range of wide integer boxes", () => {
    const wide = new Box(-(2 ** 31), 2 ** 31 - 1, [64], "int32", { seed: 5 });
    const big = new Box(-(2 ** 52), 2 ** 52, [64], "int64", { seed: 5 });
    for (const space of [wide, big]) {
      const x = space.sample();
      expect(space.contains(x)).toBe(true);
      expect(Math.max(...Array.from(x, Math.abs))).toBeGreaterThan(2 ** 24);
    }
    expect(big.contains(Float64Array.of(...big.sample().slice(0, 63), 0.5))).toBe(false);
  });

  it("seeding a composite fixes all of its subspaces", () => {
    const make = () => new Tuple([new Discrete(100), new Dict({ a: new Box(0, 1, [3]) })], { seed: 11 });
    expect(make().sample()).toEqual(make().sample());
    const unseeded = new Discrete(10);
    expect(typeof unseeded.seed()).toBe("number");
  });

  it("types follow the space", () => {
    const t = new Tuple([new Discrete(2), new Box(0, 1, [2], "float64")]);
    const [d, b]: [number, Float64Array] = t.sample();
    expect(Number.isInteger(d) && b instanceof Float64Array).toBe(true);
    const dict = new Dict({ pos: new Box(0, 1, [2]), flag: new MultiBinary(1) });
    const v: { pos: Float32Array; flag: Uint8Array } = dict.sample();
    const inferred: Float32Array = new Dict({ p: new Box(0, 1, [2]) }).spaces.p.sample();
    expect(inferred).toBeInstanceOf(Float32Array);
    expect(v.pos).toBeInstanceOf(Float32Array);
  });
});
