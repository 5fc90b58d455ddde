const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
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

/**
 * The 32-bit Mersenne Twister (Matsumoto and Nishimura's MT19937), with the two seeding routines
 * the reference relies on: `init_genrand` (numpy's legacy `np.random.seed(int)`) and
 * `init_by_array` (CPython's `random.seed(int)`).
 */
export class Mt19937 {
  private readonly mt = new Uint32Array(N);
  private index = N + 1;

  /** numpy legacy `np.random.seed(seed)` for 0 <= seed < 2^32. */
  static fromNumpyLegacySeed(seed: number): Mt19937 {
    assertReferenceSeed(seed);
    const g = new Mt19937();
    g.initGenrand(seed);
    return g;
  }

  /** CPython `random.seed(seed)` for a non-negative integer: init_by_array over its 32-bit words. */
  static fromPythonSeed(seed: number): Mt19937 {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new ReferenceSeedError(seed);
    const key: number[] = [];
    let rest = seed;
    do {
      key.push(rest % 4294967296);
      rest = Math.floor(rest / 4294967296);
    } while (rest > 0);
    const g = new Mt19937();
    g.initByArray(key);
    return g;
  }

  private initGenrand(s: number): void {
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] as number;
      const x = (prev ^ (prev >>> 30)) >>> 0;
      mt[i] = (Math.imul(x, 1812433253) + i) >>> 0;
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
      const x = (prev ^ (prev >>> 30)) >>> 0;
      const mul = Math.imul(x, 1664525) >>> 0;
      mt[i] = (((mt[i] as number) ^ mul) + (key[j] as number) + j) >>> 0;
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
      const x = (prev ^ (prev >>> 30)) >>> 0;
      const mul = Math.imul(x, 1566083941) >>> 0;
      mt[i] = (((mt[i] as number) ^ mul) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1] as number;
        i = 1;
      }
    }
    mt[0] = 0x80000000;
    this.index = N;
  }

  private twist(): void {
    const mt = this.mt;
    for (let kk = 0; kk < N; kk++) {
      const y = ((mt[kk] as number) & UPPER_MASK) | ((mt[(kk + 1) % N] as number) & LOWER_MASK);
      mt[kk] = ((mt[(kk + M) % N] as number) ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0)) >>> 0;
    }
    this.index = 0;
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

function assertReferenceSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0 || seed >= 4294967296) throw new ReferenceSeedError(seed);
}
