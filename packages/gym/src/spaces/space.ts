import { crossCopyClass } from "../cross-copy.js";
import { assertSeed, Rng } from "../random.js";

/** Element types of space values. Composite spaces (Tuple, Dict) have none. */
export type Dtype = "float32" | "float64" | "int32" | "int64" | "uint8" | "bool";

/** The typed array that holds values of each dtype. int64 lives in a Float64Array (exact up to 2^53). */
export interface DtypeArrays {
  float32: Float32Array;
  float64: Float64Array;
  int32: Int32Array;
  int64: Float64Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}
export type ArrayOf<D extends Dtype> = DtypeArrays[D];

/** The value type of a space: `SpaceValue<Discrete>` is `number`. */
export type SpaceValue<S> = S extends Space<infer T> ? T : never;

// Unseeded spaces and envs draw their seed from this one stream, so a program that never passes a
// seed is still deterministic from run to run (Gymnasium would use OS entropy here).
let defaultSeeds = Rng.fromSeed(0x5eed);

/** The seed the next unseeded space or env will get. */
export function nextDefaultSeed(): number {
  return defaultSeeds.integer(0, 2 ** 31 - 1);
}

/** Restarts the stream of default seeds (used by tests that need order-independent defaults). */
export function resetDefaultSeeds(seed: number): void {
  defaultSeeds = Rng.fromSeed(seed);
}

/**
 * A set of values with a seeded sampler, like `gymnasium.spaces.Space`. Subclasses implement
 * `mismatch` (why a value is not a member, or undefined), from which `contains` follows.
 */
export abstract class Space<T> {
  #rng: Rng | undefined;

  protected constructor(
    /** Shape of array values; [] for scalars and for composite spaces. */
    readonly shape: readonly number[],
    /** Element type of array values; undefined for composite spaces (Tuple, Dict). */
    readonly dtype: Dtype | undefined,
  ) {}

  /** The space's own generator, created from a default seed on first use. */
  protected get rng(): Rng {
    this.#rng ??= Rng.fromSeed(nextDefaultSeed());
    return this.#rng;
  }

  /** Re-seeds the space's sampler and returns the seed used (a default seed when none is given). */
  seed(seed?: number): number {
    const used = seed ?? nextDefaultSeed();
    assertSeed(used);
    this.#rng = Rng.fromSeed(used);
    return used;
  }

  abstract sample(): T;

  /** Why `x` is not in the space (wrong type, shape, dtype, range, non-finite), or undefined if it is. */
  abstract mismatch(x: unknown): string | undefined;

  contains(x: unknown): x is T {
    return this.mismatch(x) === undefined;
  }

  /** Structural equality: same kind and parameters (the generator state does not count). */
  abstract equals(other: Space<unknown>): boolean;

  abstract toString(): string;
}

export function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function isPositiveInt(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n > 0;
}

crossCopyClass(Space, "Space");
