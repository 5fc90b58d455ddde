import fc from "fast-check";
import { Box } from "../../src/spaces/box.js";
import { Dict } from "../../src/spaces/dict.js";
import { Discrete } from "../../src/spaces/discrete.js";
import { MultiBinary } from "../../src/spaces/multi-binary.js";
import { MultiDiscrete } from "../../src/spaces/multi-discrete.js";
import type { Dtype, Space } from "../../src/spaces/space.js";
import { Tuple } from "../../src/spaces/tuple.js";

/** A space built from generated parameters; `make` builds a fresh, structurally equal copy. */
export interface SpaceCase {
  label: string;
  make: () => Space<unknown>;
}

const shapeArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 });

const discrete: fc.Arbitrary<SpaceCase> = fc
  .record({ n: fc.integer({ min: 1, max: 1000 }), start: fc.integer({ min: -1000, max: 1000 }) })
  .map(({ n, start }) => ({ label: `Discrete(${n}, ${start})`, make: () => new Discrete(n, { start }) }));

const multiDiscrete: fc.Arbitrary<SpaceCase> = fc
  .array(fc.record({ n: fc.integer({ min: 1, max: 20 }), start: fc.integer({ min: -50, max: 50 }) }), {
    minLength: 1,
    maxLength: 6,
  })
  .map((parts) => ({
    label: `MultiDiscrete(${JSON.stringify(parts)})`,
    make: () =>
      new MultiDiscrete(
        parts.map((p) => p.n),
        { start: parts.map((p) => p.start) },
      ),
  }));

const multiBinary: fc.Arbitrary<SpaceCase> = fc
  .oneof(fc.integer({ min: 1, max: 12 }), shapeArb)
  .map((n) => ({ label: `MultiBinary(${JSON.stringify(n)})`, make: () => new MultiBinary(n) }));

// Float bounds stay inside float32's range so flattening (to float32) stays finite.
const floatBound = fc.oneof(
  { weight: 4, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(-1e30, 1e30, 0) },
);

// Integers beyond 2^24 are not float32-exact, so flatten (float32) cannot round-trip them.
const INT_BOUNDS: Record<string, [number, number]> = {
  int32: [-(2 ** 24), 2 ** 24],
  int64: [-(2 ** 24), 2 ** 24],
  uint8: [0, 255],
  bool: [0, 1],
};

function boundsArb(dtype: Dtype, size: number): fc.Arbitrary<{ low: number[]; high: number[] }> {
  const range = INT_BOUNDS[dtype];
  const one = range
    ? fc.tuple(fc.integer({ min: range[0], max: range[1] }), fc.integer({ min: range[0], max: range[1] }))
    : fc.tuple(
        fc.oneof({ weight: 5, arbitrary: floatBound }, { weight: 1, arbitrary: fc.constant(-Infinity) }),
        fc.oneof({ weight: 5, arbitrary: floatBound }, { weight: 1, arbitrary: fc.constant(Infinity) }),
      );
  return fc.array(one, { minLength: size, maxLength: size }).map((pairs) => ({
    // float64 bounds are kept float32-exact: flatten goes through float32 (see README).
    low: pairs.map(([a, b]) => (range ? Math.min(a, b) : Math.fround(Math.min(a, b)))),
    high: pairs.map(([a, b]) => (range ? Math.max(a, b) : Math.fround(Math.max(a, b)))),
  }));
}

const box: fc.Arbitrary<SpaceCase> = fc
  .tuple(shapeArb, fc.constantFrom<Dtype>("float32", "float64", "int32", "int64", "uint8", "bool"))
  .chain(([shape, dtype]) =>
    boundsArb(
      dtype,
      shape.reduce((a, b) => a * b, 1),
    ).map(({ low, high }) => ({
      label: `Box(${JSON.stringify(low)}, ${JSON.stringify(high)}, ${JSON.stringify(shape)}, ${dtype})`,
      make: () => new Box(low, high, shape, dtype),
    })),
  );

export const leafSpace: fc.Arbitrary<SpaceCase> = fc.oneof(discrete, multiDiscrete, multiBinary, box);

const tuple: fc.Arbitrary<SpaceCase> = fc.array(leafSpace, { minLength: 1, maxLength: 4 }).map((cases) => ({
  label: `Tuple(${cases.map((c) => c.label).join(", ")})`,
  make: () => new Tuple(cases.map((c) => c.make())),
}));

const dict: fc.Arbitrary<SpaceCase> = fc
  .dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.oneof(leafSpace, tuple), {
    minKeys: 1,
    maxKeys: 4,
  })
  .filter((d) => !("__proto__" in d && Object.hasOwn(d, "__proto__")))
  .map((cases) => ({
    label: `Dict(${Object.entries(cases)
      .map(([k, c]) => `${k}: ${c.label}`)
      .join(", ")})`,
    make: () => new Dict(Object.fromEntries(Object.entries(cases).map(([k, c]) => [k, c.make()]))),
  }));

export const anySpace: fc.Arbitrary<SpaceCase> = fc.oneof(leafSpace, tuple, dict);
export const spaceKinds = { discrete, multiDiscrete, multiBinary, box, tuple, dict };
