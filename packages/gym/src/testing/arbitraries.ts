import fc from "fast-check";
import type { Env } from "../env.js";
import { Box } from "../spaces/box.js";
import { Dict } from "../spaces/dict.js";
import { Discrete } from "../spaces/discrete.js";
import { MultiBinary } from "../spaces/multi-binary.js";
import { MultiDiscrete } from "../spaces/multi-discrete.js";
import type { ArrayOf, Dtype, Space } from "../spaces/space.js";
import { Tuple } from "../spaces/tuple.js";

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Integers in [min, max] (safe integers), shrinking towards the one closest to 0. fc.integer only
 * covers 32-bit ranges; Discrete starts and int64 boxes can go up to 2^53.
 */
function safeInteger(min: number, max: number): fc.Arbitrary<number> {
  if (min >= INT32_MIN && max <= INT32_MAX) return fc.integer({ min, max });
  return fc.bigInt({ min: BigInt(min), max: BigInt(max) }).map((b) => Number(b));
}

/** Finite members of [lo, hi] for a float dtype, shrinking towards the one closest to 0. */
function floatEntry(lo: number, hi: number, dtype: Dtype): fc.Arbitrary<number> {
  // Box members must be finite even when a bound is infinite (Box.mismatch rejects inf).
  if (dtype === "float32") {
    const min = Math.max(lo, -FLOAT32_MAX);
    const max = Math.min(hi, FLOAT32_MAX);
    return fc.float({ min, max, noNaN: true, noDefaultInfinity: true });
  }
  const min = Math.max(lo, -Number.MAX_VALUE);
  const max = Math.min(hi, Number.MAX_VALUE);
  return fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
}

function boxArbitrary<D extends Dtype>(space: Box<D>): fc.Arbitrary<ArrayOf<D>> {
  const float = space.dtype === "float32" || space.dtype === "float64";
  const entries: fc.Arbitrary<number>[] = [];
  for (let i = 0; i < space.size; i++) {
    const lo = space.low[i] as number;
    const hi = space.high[i] as number;
    entries.push(float ? floatEntry(lo, hi, space.dtype) : safeInteger(lo, hi));
  }
  return fc.tuple(...entries).map((values) => {
    const out = emptyLike(space);
    out.set(values);
    return out;
  });
}

function emptyLike<D extends Dtype>(space: Box<D>): ArrayOf<D> {
  return space.low.slice().fill(0) as ArrayOf<D>;
}

/**
 * A fast-check arbitrary of the members of `space`: Discrete (with start), MultiDiscrete,
 * MultiBinary, Box of every dtype and bounds (infinite bounds included: members are finite),
 * Tuple and Dict, nested to any depth. It produces only members (`space.contains(x)` holds) and
 * shrinks every entry towards the member closest to zero (0 when allowed, else the bound nearer
 * to 0), so counterexamples come out as simple as the space allows.
 *
 * A Space subclass this module does not know falls back to `space.sample()` after seeding the
 * space from a generated seed: still members, but without structural shrinking.
 */
export function arbitraryOf<T>(space: Space<T>): fc.Arbitrary<T> {
  const s = space as Space<unknown>;
  let arb: fc.Arbitrary<unknown>;
  if (s instanceof Discrete) {
    arb = safeInteger(s.start, s.start + s.n - 1);
  } else if (s instanceof MultiDiscrete) {
    const entries = Array.from(s.nvec, (n, i) => {
      const start = s.start[i] as number;
      return fc.integer({ min: start, max: start + n - 1 });
    });
    arb = fc.tuple(...entries).map((values) => Int32Array.from(values));
  } else if (s instanceof MultiBinary) {
    arb = fc
      .array(fc.integer({ min: 0, max: 1 }), { minLength: s.size, maxLength: s.size })
      .map((bits) => Uint8Array.from(bits));
  } else if (s instanceof Box) {
    arb = boxArbitrary(s);
  } else if (s instanceof Tuple) {
    arb = fc.tuple(...s.spaces.map((sub: Space<unknown>) => arbitraryOf(sub)));
  } else if (s instanceof Dict) {
    const parts: Record<string, fc.Arbitrary<unknown>> = {};
    for (const k of s.keys) parts[k] = arbitraryOf(s.spaces[k] as Space<unknown>);
    // A fresh object with Object's prototype, like the values envs build themselves.
    arb = fc.record(parts).map((o) => ({ ...o }));
  } else {
    arb = fc.nat({ max: INT32_MAX }).map((seed) => {
      s.seed(seed);
      return s.sample();
    });
  }
  return arb as fc.Arbitrary<T>;
}

/** Typed-array classes other than the one a space uses, for wrong-dtype values. */
const ARRAY_CLASSES = [Float32Array, Float64Array, Int32Array, Uint8Array, Int8Array, Uint8ClampedArray];

/** Values that are never members of any space: wrong JavaScript type altogether. */
const ALIEN: fc.Arbitrary<unknown> = fc.constantFrom<unknown>(undefined, null, "0", true, {}, [], Number.NaN);

type Mutation = fc.Arbitrary<unknown>;

/** Member values made wrong in one documented way each (shape, dtype, range, NaN, type). */
function arrayMutations(space: Space<unknown>, member: fc.Arbitrary<unknown>): Mutation[] {
  const out: Mutation[] = [];
  const asArray = member as fc.Arbitrary<Float32Array | Float64Array | Int32Array | Uint8Array>;
  // Wrong shape: one entry more or one fewer.
  out.push(
    asArray.map((x) => {
      const Ctor = x.constructor as new (n: number) => typeof x;
      const longer = new Ctor(x.length + 1);
      longer.set(x);
      return longer;
    }),
    asArray.map((x) => x.slice(0, x.length - 1)),
  );
  // Wrong dtype: the same numbers in another typed-array class, or a plain array.
  out.push(
    fc
      .tuple(asArray, fc.constantFrom(...ARRAY_CLASSES))
      .filter(([x, C]) => x.constructor !== C)
      .map(([x, C]) => C.from(x as ArrayLike<number>)),
    asArray.map((x) => Array.from(x as ArrayLike<number>)),
  );
  // Out of range, NaN, infinite or fractional at one position (where the array type can hold it).
  const how = fc.constantFrom("below", "above", "nan", "inf", "fraction");
  out.push(
    fc.tuple(asArray, fc.nat(), how).map(([x, at, kind]) => {
      const y = x.slice();
      const i = at % y.length;
      const v = y[i] as number;
      if (kind === "below") y[i] = lowOf(space, i) - 1;
      else if (kind === "above") y[i] = highOf(space, i) + 1;
      else if (kind === "nan") y[i] = Number.NaN;
      else if (kind === "inf") y[i] = Number.POSITIVE_INFINITY;
      else y[i] = v + 0.5;
      return y;
    }),
  );
  return out;
}

function lowOf(space: Space<unknown>, i: number): number {
  if (space instanceof Box) return space.low[i] as number;
  if (space instanceof MultiDiscrete) return space.start[i] as number;
  return 0;
}

function highOf(space: Space<unknown>, i: number): number {
  if (space instanceof Box) return space.high[i] as number;
  if (space instanceof MultiDiscrete) return (space.start[i] as number) + (space.nvec[i] as number) - 1;
  return 1;
}

/**
 * A fast-check arbitrary of values that are *not* members of `space`, for testing that an env or
 * a function rejects them: wrong JavaScript type, wrong shape (one entry more or fewer), wrong
 * dtype (another typed-array class, a plain array), out of range, NaN, infinite or fractional
 * entries, and for Tuple/Dict a wrong length, missing or extra key, or one non-member part. Every
 * value is checked against `space.contains` before it is produced.
 */
export function nonMemberOf(space: Space<unknown>): fc.Arbitrary<unknown> {
  const member = arbitraryOf(space);
  const candidates: Mutation[] = [ALIEN];
  if (space instanceof Discrete) {
    candidates.push(
      fc.constantFrom(space.start - 1, space.start + space.n, space.start + 0.5, Number.NaN, Infinity),
      member.map((x) => [x]),
      member.map((x) => String(x)),
    );
  } else if (space instanceof MultiDiscrete || space instanceof MultiBinary || space instanceof Box) {
    candidates.push(...arrayMutations(space, member));
  } else if (space instanceof Tuple) {
    const subs = space.spaces as readonly Space<unknown>[];
    candidates.push(
      (member as fc.Arbitrary<unknown[]>).map((x) => [...x, 0]),
      (member as fc.Arbitrary<unknown[]>).map((x) => x.slice(0, -1)),
    );
    if (subs.length > 0) {
      candidates.push(
        fc
          .tuple(member as fc.Arbitrary<unknown[]>, fc.nat({ max: subs.length - 1 }))
          .chain(([x, i]) =>
            nonMemberOf(subs[i] as Space<unknown>).map((bad) => x.map((v, j) => (j === i ? bad : v))),
          ),
      );
    }
  } else if (space instanceof Dict) {
    const keys = space.keys;
    const asRecord = member as fc.Arbitrary<Record<string, unknown>>;
    candidates.push(
      asRecord.map((x) => ({ ...x, [`${keys.join("")}_extra`]: 0 })),
      asRecord.map((x) => Object.values(x)),
    );
    if (keys.length > 0) {
      candidates.push(
        fc.tuple(asRecord, fc.constantFrom(...keys)).map(([x, k]) => {
          const y = { ...x };
          delete y[k];
          return y;
        }),
        fc
          .tuple(asRecord, fc.constantFrom(...keys))
          .chain(([x, k]) =>
            nonMemberOf(space.spaces[k] as Space<unknown>).map((bad) => ({ ...x, [k]: bad })),
          ),
      );
    }
  }
  return fc.oneof(...candidates).filter((x) => !space.contains(x));
}

/** The seeds an env accepts: an inclusive integer range. */
export interface SeedDomain {
  /** Default 0. */
  min?: number;
  /** Default Number.MAX_SAFE_INTEGER (any seed `reset({seed})` accepts). */
  max?: number;
}

/**
 * Seeds in the env's seed domain (default: every non-negative safe integer; the "reference" maze
 * generator of @sgprop/popgym needs `{ max: 2 ** 32 - 1 }`). One run in three draws from the 32
 * smallest seeds, because bugs tied to the seeds people actually type (0, 1, 42...) matter most;
 * the rest cover the whole domain. Shrinks towards `min`.
 */
export function seeds(domain: SeedDomain = {}): fc.Arbitrary<number> {
  const min = domain.min ?? 0;
  const max = domain.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 0 || max < min) {
    throw new RangeError(`seeds: need safe integers 0 <= min <= max, got min ${min}, max ${max}`);
  }
  return fc.oneof(
    { weight: 1, arbitrary: safeInteger(min, Math.min(max, min + 31)) },
    { weight: 2, arbitrary: safeInteger(min, max) },
  );
}

export interface ActionSequenceOptions {
  /** Default 0. */
  minLength?: number;
  /** Default 32. */
  maxLength?: number;
}

/**
 * Sequences of actions from `env.actionSpace` (each one a member; shrinking removes actions and
 * simplifies each towards the member closest to zero).
 */
export function actionSequences<Act>(
  env: Pick<Env<unknown, Act>, "actionSpace">,
  opts: ActionSequenceOptions = {},
): fc.Arbitrary<Act[]> {
  return fc.array(arbitraryOf(env.actionSpace), {
    minLength: opts.minLength ?? 0,
    maxLength: opts.maxLength ?? 32,
  });
}
