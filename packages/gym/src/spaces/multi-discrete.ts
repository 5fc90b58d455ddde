import { crossCopyClass } from "../cross-copy.js";
import { InvalidSpaceError } from "../errors.js";
import { isPositiveInt, Space } from "./space.js";

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** A vector of independent Discrete values: entry i lies in {start[i], ..., start[i] + nvec[i] - 1}. */
export class MultiDiscrete extends Space<Int32Array> {
  readonly nvec: Int32Array;
  readonly start: Int32Array;

  constructor(nvec: readonly number[], opts: { start?: readonly number[]; seed?: number } = {}) {
    super([nvec.length], "int32");
    if (nvec.length === 0) throw new InvalidSpaceError("MultiDiscrete: nvec must not be empty");
    const start = opts.start ?? nvec.map(() => 0);
    if (start.length !== nvec.length) {
      throw new InvalidSpaceError(
        `MultiDiscrete: start has ${start.length} entries but nvec has ${nvec.length}: [${start.join(", ")}]`,
      );
    }
    nvec.forEach((n, i) => {
      const s = start[i] as number;
      if (!isPositiveInt(n)) {
        throw new InvalidSpaceError(`MultiDiscrete: nvec[${i}] must be a positive integer, got ${n}`);
      }
      if (!Number.isInteger(s) || s < INT32_MIN || s + n - 1 > INT32_MAX) {
        throw new InvalidSpaceError(`MultiDiscrete: start[${i}] = ${s} with n = ${n} does not fit in int32`);
      }
    });
    this.nvec = Int32Array.from(nvec);
    this.start = Int32Array.from(start);
    if (opts.seed !== undefined) this.seed(opts.seed);
  }

  sample(): Int32Array {
    const out = new Int32Array(this.nvec.length);
    for (let i = 0; i < out.length; i++) {
      const s = this.start[i] as number;
      out[i] = this.rng.integer(s, s + (this.nvec[i] as number) - 1);
    }
    return out;
  }

  mismatch(x: unknown): string | undefined {
    if (!(x instanceof Int32Array)) return `expected an Int32Array, got ${describeKind(x)}`;
    if (x.length !== this.nvec.length) return `expected shape (${this.nvec.length},), got length ${x.length}`;
    for (let i = 0; i < x.length; i++) {
      const v = x[i] as number;
      const s = this.start[i] as number;
      if (v < s || v >= s + (this.nvec[i] as number)) {
        return `entry ${i} = ${v} is outside [${s}, ${s + (this.nvec[i] as number) - 1}]`;
      }
    }
    return undefined;
  }

  equals(other: Space<unknown>): boolean {
    return (
      other instanceof MultiDiscrete && sameInts(other.nvec, this.nvec) && sameInts(other.start, this.start)
    );
  }

  toString(): string {
    const nvec = `[${this.nvec.join(", ")}]`;
    return this.start.every((s) => s === 0)
      ? `MultiDiscrete(${nvec})`
      : `MultiDiscrete(${nvec}, start=[${this.start.join(", ")}])`;
  }
}

export function describeKind(x: unknown): string {
  if (x === null) return "null";
  if (typeof x === "object") return (x as object).constructor?.name ?? "object";
  return typeof x;
}

export function sameInts(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

crossCopyClass(MultiDiscrete, "MultiDiscrete");
