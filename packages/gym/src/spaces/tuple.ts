import { crossCopyClass } from "../cross-copy.js";
import { InvalidSpaceError } from "../errors.js";
import { describeKind } from "./multi-discrete.js";
import { Space, type SpaceValue } from "./space.js";

export type TupleValue<S extends readonly Space<unknown>[]> = { -readonly [K in keyof S]: SpaceValue<S[K]> };

/** Fixed-length arrays whose entry i lies in spaces[i]. */
export class Tuple<const S extends readonly Space<unknown>[]> extends Space<TupleValue<S>> {
  readonly spaces: S;

  constructor(spaces: S, opts: { seed?: number } = {}) {
    super([], undefined);
    if (!spaces.every((s) => s instanceof Space))
      throw new InvalidSpaceError("Tuple: every entry must be a Space");
    this.spaces = spaces;
    if (opts.seed !== undefined) this.seed(opts.seed);
  }

  /** Seeds this space and, with seeds drawn from it, every subspace (so one seed fixes all samples). */
  override seed(seed?: number): number {
    const used = super.seed(seed);
    for (const s of this.spaces) s.seed(this.rng.integer(0, 2 ** 31 - 1));
    return used;
  }

  sample(): TupleValue<S> {
    return this.spaces.map((s) => s.sample()) as TupleValue<S>;
  }

  mismatch(x: unknown): string | undefined {
    if (!Array.isArray(x)) return `expected an array, got ${describeKind(x)}`;
    if (x.length !== this.spaces.length) return `expected ${this.spaces.length} entries, got ${x.length}`;
    for (let i = 0; i < x.length; i++) {
      const why = (this.spaces[i] as Space<unknown>).mismatch(x[i]);
      if (why !== undefined) return `entry ${i}: ${why}`;
    }
    return undefined;
  }

  equals(other: Space<unknown>): boolean {
    return (
      other instanceof Tuple &&
      other.spaces.length === this.spaces.length &&
      this.spaces.every((s, i) => s.equals(other.spaces[i] as Space<unknown>))
    );
  }

  toString(): string {
    return `Tuple(${this.spaces.map((s) => s.toString()).join(", ")})`;
  }
}

crossCopyClass(Tuple, "Tuple");
