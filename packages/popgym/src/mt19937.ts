const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df | 0;
const UPPER_MASK = 0x80000000 | 0;
const LOWER_MASK = 0x7fffffff;

/** Thrown when a seed cannot be used by the reference (numpy legacy) seeding. */
export class ReferenceSeedError extends RangeError {
  constructor(readonly seed: unknown) {
    super(
      `generator "reference" needs an integer seed in [0, 2^32) (numpy's legacy seeding rejects others), got ${String(seed)}`,
    );
    this.name = "ReferenceSeedError";
  }
}

/** A Mersenne Twister checkpoint: the 624 state words and the position in them. */
export interface Mt19937State {
  readonly mt: Int32Array;
  readonly index: number;
}

/**
 * The 32-bit Mersenne Twister (Matsumoto and Nishimura's MT19937), with the two seeding routines
 * the reference relies on: `init_genrand` (numpy's legacy `np.random.seed(int)`) and
 * `init_by_array` (CPython's `random.seed(int)`).
 */
export class Mt19937 {
  // Int32Array keeps every word a machine integer in optimised code (Uint32Array words above 2^31
  // become doubles); the bit patterns are the same.
  private readonly mt = new Int32Array(N);
  private index = N + 1;

  /** numpy legacy `np.random.seed(seed)` for 0 <= seed < 2^32. */
  static fromNumpyLegacySeed(seed: number): Mt19937 {
    const g = new Mt19937();
    g.seedNumpyLegacy(seed);
    return g;
  }

  /** Re-seeds in place like numpy's legacy `np.random.seed(seed)` (no allocation). */
  seedNumpyLegacy(seed: number): void {
    assertReferenceSeed(seed);
    this.initGenrand(seed);
  }

  /** Re-seeds in place like CPython's `random.seed(seed)` for a non-negative integer. */
  seedPython(seed: number): void {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new ReferenceSeedError(seed);
    const lo = seed % 4294967296;
    const hi = Math.floor(seed / 4294967296);
    this.initByArray(hi > 0 ? [lo, hi] : [lo]);
  }

  /** CPython `random.seed(seed)` for a non-negative integer: init_by_array over its 32-bit words. */
  static fromPythonSeed(seed: number): Mt19937 {
    const g = new Mt19937();
    g.seedPython(seed);
    return g;
  }

  private initGenrand(s: number): void {
    const mt = this.mt;
    mt[0] = s | 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] as number;
      mt[i] = (Math.imul(prev ^ (prev >>> 30), 1812433253) + i) | 0;
    }
    this.index = N;
  }

  private initByArray(key: readonly number[]): void {
    const mt = this.mt;
    this.initGenrand(19650218);
    let i = 1;
    let j = 0;
    const len = key.length;
    for (let k = Math.max(N, len); k > 0; k--) {
      const prev = mt[i - 1] as number;
      const mul = Math.imul(prev ^ (prev >>> 30), 1664525);
      mt[i] = (((mt[i] as number) ^ mul) + ((key[j] as number) | 0) + j) | 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1] as number;
        i = 1;
      }
      if (j >= len) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1] as number;
      const mul = Math.imul(prev ^ (prev >>> 30), 1566083941);
      mt[i] = (((mt[i] as number) ^ mul) - i) | 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1] as number;
        i = 1;
      }
    }
    mt[0] = 0x80000000 | 0;
    this.index = N;
  }

  private twist(): void {
    const mt = this.mt;
    let kk = 0;
    for (; kk < N - M; kk++) {
      const y = ((mt[kk] as number) & UPPER_MASK) | ((mt[kk + 1] as number) & LOWER_MASK);
      mt[kk] = (mt[kk + M] as number) ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; kk < N - 1; kk++) {
      const y = ((mt[kk] as number) & UPPER_MASK) | ((mt[kk + 1] as number) & LOWER_MASK);
      mt[kk] = (mt[kk + M - N] as number) ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    const y = ((mt[N - 1] as number) & UPPER_MASK) | ((mt[0] as number) & LOWER_MASK);
    mt[N - 1] = (mt[M - 1] as number) ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    this.index = 0;
  }

  /** The generator's full state (a checkpoint); independent of later draws. */
  getState(): Mt19937State {
    return { mt: this.mt.slice(), index: this.index };
  }

  /** Restores a state from {@link getState}. */
  setState(state: Mt19937State): void {
    if (state.mt.length !== N || !Number.isInteger(state.index) || state.index < 0 || state.index > N + 1) {
      throw new RangeError(`Mt19937 state needs ${N} words and an index in 0..${N + 1}`);
    }
    this.mt.set(state.mt);
    this.index = state.index;
  }

  /** Next tempered 32-bit output (genrand_int32). */
  nextUint32(): number {
    if (this.index >= N) this.twist();
    let y = this.mt[this.index++] as number;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
}

/** Throws ReferenceSeedError unless `seed` is an integer in [0, 2^32) (numpy's legacy seeding range). */
export function assertReferenceSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0 || seed >= 4294967296) throw new ReferenceSeedError(seed);
}
