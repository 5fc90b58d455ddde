import { crossCopyClass } from "../cross-copy.js";
import { InvalidSpaceError } from "../errors.js";
import { describeKind } from "./multi-discrete.js";
import { Space, type SpaceValue } from "./space.js";

export type DictValue<S extends Record<string, Space<unknown>>> = { [K in keyof S]: SpaceValue<S[K]> };

/**
 * Objects with exactly the given keys, each value in its space. As in Gymnasium, keys are kept in
 * sorted order, which fixes the layout of `flatten` and the order of sampling.
 */
export class Dict<S extends Record<string, Space<unknown>>> extends Space<DictValue<S>> {
  readonly spaces: S;
  readonly keys: readonly (keyof S & string)[];

  constructor(spaces: S, opts: { seed?: number } = {}) {
    super([], undefined);
    const keys = Object.keys(spaces).sort() as (keyof S & string)[];
    for (const k of keys) {
      if (!(spaces[k] instanceof Space))
        throw new InvalidSpaceError(`Dict: entry ${JSON.stringify(k)} is not a Space`);
    }
    this.keys = keys;
    this.spaces = Object.fromEntries(keys.map((k) => [k, spaces[k]])) as unknown as S;
    if (opts.seed !== undefined) this.seed(opts.seed);
  }

  private sub(key: string): Space<unknown> {
    return this.spaces[key] as Space<unknown>;
  }

  /** Seeds this space and, with seeds drawn from it in key order, every subspace. */
  override seed(seed?: number): number {
    const used = super.seed(seed);
    for (const k of this.keys) this.sub(k).seed(this.rng.integer(0, 2 ** 31 - 1));
    return used;
  }

  sample(): DictValue<S> {
    const out: Record<string, unknown> = {};
    for (const k of this.keys) out[k] = this.sub(k).sample();
    return out as DictValue<S>;
  }

  mismatch(x: unknown): string | undefined {
    if (typeof x !== "object" || x === null || Array.isArray(x) || ArrayBuffer.isView(x)) {
      return `expected a plain object, got ${describeKind(x)}`;
    }
    const got = Object.keys(x);
    const missing = this.keys.filter((k) => !Object.hasOwn(x, k));
    const extra = got.filter((k) => !Object.hasOwn(this.spaces, k));
    if (missing.length > 0 || extra.length > 0) {
      return `keys differ (missing: [${missing.join(", ")}], unexpected: [${extra.join(", ")}])`;
    }
    for (const k of this.keys) {
      const why = this.sub(k).mismatch((x as Record<string, unknown>)[k]);
      if (why !== undefined) return `key ${JSON.stringify(k)}: ${why}`;
    }
    return undefined;
  }

  equals(other: Space<unknown>): boolean {
    if (!(other instanceof Dict) || other.keys.length !== this.keys.length) return false;
    return this.keys.every(
      (k, i) => other.keys[i] === k && this.sub(k).equals(other.spaces[k] as Space<unknown>),
    );
  }

  toString(): string {
    return `Dict(${this.keys.map((k) => `'${k}': ${this.sub(k).toString()}`).join(", ")})`;
  }
}

crossCopyClass(Dict, "Dict");
