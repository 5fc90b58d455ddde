import { crossCopyClass } from "../cross-copy.js";
import { InvalidSpaceError } from "../errors.js";
import { isPositiveInt, Space } from "./space.js";

/** The integers {start, ..., start + n - 1}. */
export class Discrete extends Space<number> {
  readonly n: number;
  readonly start: number;

  constructor(n: number, opts: { start?: number; seed?: number } = {}) {
    super([], "int64");
    const start = opts.start ?? 0;
    if (!isPositiveInt(n)) throw new InvalidSpaceError(`Discrete: n must be a positive integer, got ${n}`);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(start + n - 1)) {
      throw new InvalidSpaceError(`Discrete: start must be a safe integer, got ${start}`);
    }
    this.n = n;
    this.start = start;
    if (opts.seed !== undefined) this.seed(opts.seed);
  }

  sample(): number {
    return this.rng.integer(this.start, this.start + this.n - 1);
  }

  mismatch(x: unknown): string | undefined {
    if (typeof x !== "number") return `expected a number, got ${typeof x}`;
    if (!Number.isInteger(x)) return `expected an integer, got ${x}`;
    if (x < this.start || x >= this.start + this.n) {
      return `${x} is outside [${this.start}, ${this.start + this.n - 1}]`;
    }
    return undefined;
  }

  equals(other: Space<unknown>): boolean {
    return other instanceof Discrete && other.n === this.n && other.start === this.start;
  }

  toString(): string {
    return this.start === 0 ? `Discrete(${this.n})` : `Discrete(${this.n}, start=${this.start})`;
  }
}

crossCopyClass(Discrete, "Discrete");
