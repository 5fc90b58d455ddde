import { crossCopyClass } from "../cross-copy.js";
import { formatFloat, formatShape } from "../describe.js";
import { InvalidSpaceError } from "../errors.js";
import { describeKind, sameInts } from "./multi-discrete.js";
import { type ArrayOf, type Dtype, isPositiveInt, product, Space } from "./space.js";

const INT_RANGES: Partial<Record<Dtype, readonly [number, number]>> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint8: [0, 255],
  bool: [0, 1],
};

const ARRAY_TYPES = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: Float64Array,
  uint8: Uint8Array,
  bool: Uint8Array,
} as const;

export function isIntegerDtype(dtype: Dtype): boolean {
  return INT_RANGES[dtype] !== undefined;
}

/** A zero-filled typed array of the class that holds `dtype` values. */
export function arrayOf<D extends Dtype>(dtype: D, length: number): ArrayOf<D> {
  return new ARRAY_TYPES[dtype](length) as ArrayOf<D>;
}

/**
 * A (possibly unbounded) box in R^shape, like `gymnasium.spaces.Box`. Values are flat row-major typed
 * arrays of the dtype's class (Float32Array for "float32", ...). Bounds are cast to the dtype once,
 * as Gymnasium does; integer dtypes need finite integer bounds inside the dtype's range.
 */
export class Box<D extends Dtype = "float32"> extends Space<ArrayOf<D>> {
  declare readonly dtype: NoInfer<D>;
  readonly low: ArrayOf<D>;
  readonly high: ArrayOf<D>;
  /** Number of elements, the product of `shape`. */
  readonly size: number;

  constructor(
    low: number | ArrayLike<number>,
    high: number | ArrayLike<number>,
    shape?: readonly number[],
    dtype: D = "float32" as D,
    opts: { seed?: number } = {},
  ) {
    const inferred =
      shape ?? (typeof low !== "number" ? [low.length] : typeof high !== "number" ? [high.length] : [1]);
    super([...inferred], dtype);
    if (!(dtype in ARRAY_TYPES)) throw new InvalidSpaceError(`Box: unknown dtype ${String(dtype)}`);
    if (!inferred.every((d) => isPositiveInt(d))) {
      throw new InvalidSpaceError(`Box: shape must hold positive integers, got ${formatShape(inferred)}`);
    }
    this.size = product(inferred);
    this.low = this.bound("low", low);
    this.high = this.bound("high", high);
    for (let i = 0; i < this.size; i++) {
      if ((this.low[i] as number) > (this.high[i] as number)) {
        throw new InvalidSpaceError(`Box: low[${i}] = ${this.low[i]} exceeds high[${i}] = ${this.high[i]}`);
      }
    }
    if (opts.seed !== undefined) this.seed(opts.seed);
  }

  private bound(which: "low" | "high", given: number | ArrayLike<number>): ArrayOf<D> {
    if (typeof given !== "number" && given.length !== this.size) {
      throw new InvalidSpaceError(
        `Box: ${which} has ${given.length} values but shape ${formatShape(this.shape)} needs ${this.size}`,
      );
    }
    const range = INT_RANGES[this.dtype];
    const out = arrayOf(this.dtype, this.size);
    for (let i = 0; i < this.size; i++) {
      const v = typeof given === "number" ? given : Number(given[i]);
      const bad =
        Number.isNaN(v) || (range !== undefined && (!Number.isInteger(v) || v < range[0] || v > range[1]));
      if (bad) {
        throw new InvalidSpaceError(
          `Box: ${which}[${i}] = ${v} is not valid for dtype ${this.dtype}` +
            (range ? ` (needs an integer in [${range[0]}, ${range[1]}])` : ""),
        );
      }
      out[i] = v;
    }
    return out;
  }

  sample(): ArrayOf<D> {
    const out = arrayOf(this.dtype, this.size);
    const integer = isIntegerDtype(this.dtype);
    for (let i = 0; i < this.size; i++) {
      const lo = this.low[i] as number;
      const hi = this.high[i] as number;
      out[i] = integer ? this.rng.integer(lo, hi) : this.sampleFloat(lo, hi);
    }
    return out;
  }

  // Gymnasium's rule: uniform when bounded, shifted exponential when bounded on one side, normal
  // when unbounded. The convex combination cannot overflow for huge finite ranges.
  private sampleFloat(lo: number, hi: number): number {
    const loFinite = Number.isFinite(lo);
    const hiFinite = Number.isFinite(hi);
    if (loFinite && hiFinite) {
      const u = this.rng.float();
      return Math.min(hi, Math.max(lo, lo * (1 - u) + hi * u));
    }
    if (loFinite) return lo - Math.log1p(-this.rng.float());
    if (hiFinite) return hi + Math.log1p(-this.rng.float());
    return this.rng.normal();
  }

  mismatch(x: unknown): string | undefined {
    const Expected = ARRAY_TYPES[this.dtype];
    if (!(x instanceof Expected) || (Expected === Uint8Array && x.constructor === Uint8ClampedArray)) {
      return `expected a ${Expected.name} (dtype ${this.dtype}), got ${describeKind(x)}`;
    }
    const arr = x as ArrayLike<number>;
    if (arr.length !== this.size) {
      return `expected shape ${formatShape(this.shape)} (${this.size} values), got length ${arr.length}`;
    }
    const needsInteger = this.dtype === "int64";
    for (let i = 0; i < arr.length; i++) {
      const v = arr[i] as number;
      if (!Number.isFinite(v)) return `entry ${i} = ${v} is not finite`;
      if (needsInteger && !Number.isInteger(v)) return `entry ${i} = ${v} is not an integer`;
      if (v < (this.low[i] as number) || v > (this.high[i] as number)) {
        return `entry ${i} = ${v} is outside [${this.low[i]}, ${this.high[i]}]`;
      }
    }
    return undefined;
  }

  equals(other: Space<unknown>): boolean {
    return (
      other instanceof Box &&
      other.dtype === this.dtype &&
      sameInts(other.shape, this.shape) &&
      sameInts(other.low, this.low) &&
      sameInts(other.high, this.high)
    );
  }

  toString(): string {
    const float32 = this.dtype === "float32";
    const fmt = isIntegerDtype(this.dtype) ? String : (v: number) => formatFloat(v, float32);
    const bound = (a: ArrayLike<number>) =>
      Array.prototype.every.call(a, (v: number) => v === a[0])
        ? fmt(a[0] as number)
        : `[${Array.from(a, (v) => fmt(v)).join(", ")}]`;
    return `Box(${bound(this.low)}, ${bound(this.high)}, ${formatShape(this.shape)}, ${this.dtype})`;
  }
}

crossCopyClass(Box, "Box");
