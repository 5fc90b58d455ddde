import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus, xoroshiro128plusFromState } from "pure-rand/generator/xoroshiro128plus";
import type { JumpableRandomGenerator } from "pure-rand/types/JumpableRandomGenerator";

/** Thrown when a seed is not a non-negative safe integer. */
export class InvalidSeedError extends RangeError {
  constructor(readonly seed: unknown) {
    super(`seed must be a non-negative safe integer, got ${String(seed)}`);
    this.name = "InvalidSeedError";
  }
}

export function assertSeed(seed: unknown): asserts seed is number {
  if (typeof seed !== "number" || !Number.isSafeInteger(seed) || seed < 0) throw new InvalidSeedError(seed);
}

/**
 * The project's only source of randomness: a seeded xoroshiro128+ stream from pure-rand (chosen
 * because it is small, fast, dependency-free and its state can be saved and restored exactly,
 * which resumable training runs need).
 */
export class Rng {
  private constructor(private readonly gen: JumpableRandomGenerator) {}

  /**
   * A generator for any non-negative safe integer seed. Seeds below 2^32 use pure-rand's own
   * seeding. Larger seeds fill all four state words from hashes of both 32-bit halves: a seed
   * folded into pure-rand's 32-bit seeding would share its stream, shifted by a few draws, with
   * some seed below 2^32 (and with other large seeds), which derived seeds hit in practice.
   */
  static fromSeed(seed: number): Rng {
    assertSeed(seed);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 2 ** 32);
    if (hi === 0) return new Rng(xoroshiro128plus(lo));
    const a = fmix32(lo ^ fmix32(hi ^ 0x243f6a88));
    const b = fmix32(hi ^ fmix32(lo ^ 0x85a308d3));
    // The last word is hi != 0, so the state is never all zero (which xoroshiro cannot leave).
    return new Rng(xoroshiro128plusFromState([a | 0, b | 0, fmix32(a ^ 0x13198a2e) | 0, hi | 0]));
  }

  /** Restores a generator saved with {@link Rng.state}. */
  static fromState(state: readonly number[]): Rng {
    return new Rng(xoroshiro128plusFromState(state));
  }

  /** The generator's full internal state (four 32-bit integers), for checkpoints. */
  state(): number[] {
    return [...this.gen.getState()];
  }

  clone(): Rng {
    return new Rng(this.gen.clone());
  }

  /** An independent stream (2^64 steps ahead), leaving this one untouched. */
  fork(): Rng {
    const g = this.gen.clone();
    g.jump();
    this.gen.next();
    return new Rng(g);
  }

  /** Uniform integer in [0, 2^32). */
  uint32(): number {
    return this.gen.next() >>> 0;
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  float(): number {
    return uniformFloat64(this.gen);
  }

  /** Uniform integer in [lo, hi], both included. */
  integer(lo: number, hi: number): number {
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || hi < lo) {
      throw new RangeError(`integer(lo, hi) needs safe integers with lo <= hi, got ${lo}, ${hi}`);
    }
    return uniformInt(this.gen, lo, hi);
  }

  /** Standard normal draw (Box-Muller; one of the pair is discarded to keep the state simple). */
  normal(mean = 0, std = 1): number {
    let u = 0;
    while (u === 0) u = this.float();
    const v = this.float();
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** True with probability p (a number in [0, 1]; NaN would silently mean "never"). */
  bernoulli(p: number): boolean {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`bernoulli(p) needs p in [0, 1], got ${p}`);
    return this.float() < p;
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.integer(0, i);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /** k distinct integers drawn uniformly from [0, n), in draw order. */
  sampleWithoutReplacement(n: number, k: number): number[] {
    if (!Number.isSafeInteger(k) || k < 0 || k > n) {
      throw new RangeError(`cannot draw ${k} distinct values from ${n}`);
    }
    const pool = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = this.integer(i, n - 1);
      const tmp = pool[i] as number;
      pool[i] = pool[j] as number;
      pool[j] = tmp;
    }
    return pool.slice(0, k);
  }
}

/** murmur3's 32-bit finaliser: a bijection on 32-bit words with full avalanche. */
function fmix32(h: number): number {
  let x = h;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}
