import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plusFromState } from "pure-rand/generator/xoroshiro128plus";
import type { JumpableRandomGenerator } from "pure-rand/types/JumpableRandomGenerator";
import { keyFromWords, stateFromKey, streamKey } from "./seeding.js";

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
 * The project's only source of randomness: a xoroshiro128+ stream from pure-rand (chosen because it
 * is small, fast, dependency-free and its state can be saved and restored exactly, which resumable
 * training runs need). Its state always comes from `(seed, purpose)` through SplitMix64 (see
 * `seeding.ts`), never from a raw seed.
 */
export class Rng {
  private constructor(private readonly gen: JumpableRandomGenerator) {}

  /**
   * The stream of `seed` with no purpose: what an env's `reset({ seed })` and a space's `seed()`
   * use, so that a user's seed reproduces an episode. Components of a training run use
   * {@link Rng.derive} with a purpose name instead, so they never share this stream.
   */
  static fromSeed(seed: number): Rng {
    return Rng.derive(seed, "");
  }

  /**
   * The stream named `purpose` (e.g. "mnist-bandit/reward-noise") of the user's `seed`. Different
   * purposes of one seed, and one purpose of different seeds, give unrelated streams.
   */
  static derive(seed: number, purpose: string): Rng {
    assertSeed(seed);
    if (typeof purpose !== "string") throw new TypeError(`purpose must be a string, got ${String(purpose)}`);
    return new Rng(xoroshiro128plusFromState(stateFromKey(streamKey(seed, purpose))));
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

  /**
   * A new stream keyed by this one's next two draws (which it consumes). Successive forks are
   * unrelated, unlike jump-based forks, which give siblings one stream shifted by a draw. Training
   * code names its streams with {@link Rng.derive} instead; this is for ad-hoc splitting.
   */
  fork(): Rng {
    const hi = this.uint32();
    const lo = this.uint32();
    return new Rng(xoroshiro128plusFromState(stateFromKey(keyFromWords(hi, lo))));
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

  /**
   * k distinct integers drawn uniformly from [0, n), in draw order: a partial Fisher-Yates shuffle
   * of 0..n-1 that stores only the displaced entries, so it costs O(k) however large n is (wide
   * networks draw a few parents from many neurons).
   */
  sampleWithoutReplacement(n: number, k: number): number[] {
    if (!Number.isSafeInteger(k) || k < 0 || k > n) {
      throw new RangeError(`cannot draw ${k} distinct values from ${n}`);
    }
    const displaced = new Map<number, number>();
    const out: number[] = [];
    for (let i = 0; i < k; i++) {
      const j = this.integer(i, n - 1);
      const atJ = displaced.get(j) ?? j;
      displaced.set(j, displaced.get(i) ?? i);
      out.push(atJ);
    }
    return out;
  }
}
