import { crossCopyClass } from "../cross-copy.js";
import { formatShape } from "../describe.js";
import { InvalidSpaceError } from "../errors.js";
import { describeKind, sameInts } from "./multi-discrete.js";
import { isPositiveInt, product, Space } from "./space.js";

/** Arrays of 0/1 of a fixed shape (stored flat, row-major, in a Uint8Array). */
export class MultiBinary extends Space<Uint8Array> {
  readonly n: number | readonly number[];
  readonly size: number;

  constructor(n: number | readonly number[], opts: { seed?: number } = {}) {
    const shape = typeof n === "number" ? [n] : [...n];
    super(shape, "uint8");
    if (shape.length === 0 || !shape.every(isPositiveInt)) {
      throw new InvalidSpaceError(`MultiBinary: n must be a positive integer or shape, got ${String(n)}`);
    }
    this.n = typeof n === "number" ? n : shape;
    this.size = product(shape);
    if (opts.seed !== undefined) this.seed(opts.seed);
  }

  sample(): Uint8Array {
    const out = new Uint8Array(this.size);
    for (let i = 0; i < out.length; i++) out[i] = this.rng.uint32() & 1;
    return out;
  }

  mismatch(x: unknown): string | undefined {
    if (!(x instanceof Uint8Array)) return `expected a Uint8Array, got ${describeKind(x)}`;
    if (x.length !== this.size)
      return `expected shape ${formatShape(this.shape)} (${this.size} values), got length ${x.length}`;
    for (let i = 0; i < x.length; i++) if ((x[i] as number) > 1) return `entry ${i} = ${x[i]} is not 0 or 1`;
    return undefined;
  }

  equals(other: Space<unknown>): boolean {
    return other instanceof MultiBinary && sameInts(other.shape, this.shape);
  }

  toString(): string {
    return typeof this.n === "number" ? `MultiBinary(${this.n})` : `MultiBinary([${this.shape.join(", ")}])`;
  }
}

crossCopyClass(MultiBinary, "MultiBinary");
