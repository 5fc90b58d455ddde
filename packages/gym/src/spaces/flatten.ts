import { describeValue } from "../describe.js";
import { UnsupportedSpaceError } from "../errors.js";
import { arrayOf, Box } from "./box.js";
import { Dict } from "./dict.js";
import { Discrete } from "./discrete.js";
import { MultiBinary } from "./multi-binary.js";
import { MultiDiscrete } from "./multi-discrete.js";
import type { Space } from "./space.js";
import { Tuple } from "./tuple.js";

// Gymnasium's conventions: Discrete and MultiDiscrete become one-hot (concatenated per entry),
// MultiBinary and Box are raveled, Tuple and Dict concatenate their parts (Dict in sorted key order).

/** Length of the flat vector `flatten(space, x)`. */
export function flatdim(space: Space<unknown>): number {
  if (space instanceof Discrete) return space.n;
  if (space instanceof MultiDiscrete) return space.nvec.reduce((a, b) => a + b, 0);
  if (space instanceof MultiBinary || space instanceof Box) return space.size;
  if (space instanceof Tuple) return space.spaces.reduce((a: number, s: Space<unknown>) => a + flatdim(s), 0);
  if (space instanceof Dict)
    return space.keys.reduce((a, k) => a + flatdim(space.spaces[k] as Space<unknown>), 0);
  throw new UnsupportedSpaceError(space);
}

/** `x` as a Float32Array of length `flatdim(space)`. Throws RangeError on one-hot indices out of range. */
export function flatten<T>(space: Space<T>, x: T): Float32Array {
  const out = new Float32Array(flatdim(space));
  flattenInto(space, x, out, 0);
  return out;
}

/** Writes `flatten(space, x)` into `out` at `offset` (out must be zeroed there); returns the end offset. */
export function flattenInto<T>(space: Space<T>, x: T, out: Float32Array, offset: number): number {
  const s = space as Space<unknown>;
  const v = x as unknown;
  if (s instanceof Discrete) {
    out[offset + oneHotIndex(s, v as number, s.start, s.n)] = 1;
    return offset + s.n;
  }
  if (s instanceof MultiDiscrete) {
    const xs = v as Int32Array;
    let at = offset;
    for (let i = 0; i < s.nvec.length; i++) {
      const n = s.nvec[i] as number;
      out[at + oneHotIndex(s, xs[i] as number, s.start[i] as number, n)] = 1;
      at += n;
    }
    return at;
  }
  if (s instanceof MultiBinary || s instanceof Box) {
    const xs = v as ArrayLike<number>;
    if (xs.length !== s.size) throw new RangeError(`flatten: ${s.toString()} got ${describeValue(v)}`);
    for (let i = 0; i < s.size; i++) out[offset + i] = xs[i] as number;
    return offset + s.size;
  }
  if (s instanceof Tuple) {
    const xs = v as readonly unknown[];
    let at = offset;
    s.spaces.forEach((sub: Space<unknown>, i: number) => {
      at = flattenInto(sub, xs[i], out, at);
    });
    return at;
  }
  if (s instanceof Dict) {
    const xs = v as Record<string, unknown>;
    let at = offset;
    for (const k of s.keys) at = flattenInto(s.spaces[k] as Space<unknown>, xs[k], out, at);
    return at;
  }
  throw new UnsupportedSpaceError(s);
}

function oneHotIndex(space: Space<unknown>, x: number, start: number, n: number): number {
  const i = typeof x === "number" ? x - start : Number.NaN;
  if (!Number.isInteger(i) || i < 0 || i >= n) {
    throw new RangeError(`flatten: ${describeValue(x)} is not a valid value of ${space.toString()}`);
  }
  return i;
}

/** Inverse of `flatten`: one-hot segments decode to the index of their first non-zero entry. */
export function unflatten<T>(space: Space<T>, v: ArrayLike<number>): T {
  const d = flatdim(space);
  if (v.length !== d) {
    throw new RangeError(`unflatten: ${space.toString()} needs ${d} values, got ${v.length}`);
  }
  return unflattenAt(space, v, 0) as T;
}

function unflattenAt(s: Space<unknown>, v: ArrayLike<number>, offset: number): unknown {
  if (s instanceof Discrete) return s.start + firstNonZero(s, v, offset, s.n);
  if (s instanceof MultiDiscrete) {
    const out = new Int32Array(s.nvec.length);
    let at = offset;
    for (let i = 0; i < out.length; i++) {
      const n = s.nvec[i] as number;
      out[i] = (s.start[i] as number) + firstNonZero(s, v, at, n);
      at += n;
    }
    return out;
  }
  if (s instanceof MultiBinary) {
    const out = new Uint8Array(s.size);
    for (let i = 0; i < s.size; i++) out[i] = v[offset + i] !== 0 ? 1 : 0;
    return out;
  }
  if (s instanceof Box) {
    const out = arrayOf(s.dtype, s.size);
    for (let i = 0; i < s.size; i++) out[i] = v[offset + i] as number;
    return out;
  }
  if (s instanceof Tuple) {
    let at = offset;
    return s.spaces.map((sub: Space<unknown>) => {
      const value = unflattenAt(sub, v, at);
      at += flatdim(sub);
      return value;
    });
  }
  if (s instanceof Dict) {
    const out: Record<string, unknown> = {};
    let at = offset;
    for (const k of s.keys) {
      const sub = s.spaces[k] as Space<unknown>;
      out[k] = unflattenAt(sub, v, at);
      at += flatdim(sub);
    }
    return out;
  }
  throw new UnsupportedSpaceError(s);
}

function firstNonZero(space: Space<unknown>, v: ArrayLike<number>, offset: number, n: number): number {
  for (let i = 0; i < n; i++) if (v[offset + i] !== 0) return i;
  throw new RangeError(`unflatten: one-hot segment of ${space.toString()} at offset ${offset} is all zeros`);
}

/** The Box that contains every `flatten(space, x)`: float32, shape [flatdim(space)]. */
export function flattenSpace(space: Space<unknown>): Box<"float32"> {
  const d = flatdim(space);
  const low = new Float64Array(d);
  const high = new Float64Array(d);
  writeBounds(space, low, high, 0);
  return new Box(low, high, [d], "float32");
}

function writeBounds(s: Space<unknown>, low: Float64Array, high: Float64Array, offset: number): number {
  if (s instanceof Box) {
    low.set(s.low, offset);
    high.set(s.high, offset);
    return offset + s.size;
  }
  if (s instanceof Tuple || s instanceof Dict) {
    const parts: Space<unknown>[] =
      s instanceof Tuple ? [...s.spaces] : s.keys.map((k) => s.spaces[k] as Space<unknown>);
    let at = offset;
    for (const sub of parts) at = writeBounds(sub, low, high, at);
    return at;
  }
  const d = flatdim(s); // one-hot and binary parts live in [0, 1]
  high.fill(1, offset, offset + d);
  return offset + d;
}
