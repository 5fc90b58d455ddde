import type { Rng } from "@sgprop/gym";
import { assertReferenceSeed, Mt19937, type Mt19937State } from "./mt19937.js";

/**
 * The random draws maze generation needs. Two implementations: one on top of the env's own `Rng`
 * (the default), and one that replays CPython's and numpy's Mersenne Twisters draw for draw, so
 * that a seed gives exactly the maze the reference POPGym gives.
 */
export interface MazeRandom {
  /** Uniform integer in [0, n), n >= 1. */
  below(n: number): number;
  /**
   * Index (into the neighbour list in the order up, down, left, right) of the neighbour a walk
   * step carves into, for a list of `count` >= 1 neighbours.
   */
  chooseNeighbour(count: number): number;
  /** Whether all `(h+1)*(w+1)` hunts must be drawn even once every hallway cell is open. */
  readonly drawsEveryHunt: boolean;
}

const TWO_POW_32 = 4294967296;

/** Maze draws from the env's generator: unbiased bounded integers by rejection on 32-bit words. */
export class RngMazeRandom implements MazeRandom {
  readonly drawsEveryHunt = false;
  constructor(private readonly rng: Rng) {}

  below(n: number): number {
    // Rejection keeps the draw exactly uniform; the expected number of words is below 2.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let x = this.rng.uint32();
    while (x >= limit) x = this.rng.uint32();
    return x % n;
  }

  chooseNeighbour(count: number): number {
    // numpy shuffle followed by random.choice is a uniform choice; one draw gives the same law.
    return count === 1 ? 0 : this.below(count);
  }
}

/** Checkpoint of a {@link ReferenceMazeRandom}. */
export interface ReferenceRandomState {
  readonly python: Mt19937State;
  readonly numpy: Mt19937State;
}

/**
 * CPython `random` + numpy legacy `np.random` replay (LABYRINTH.md "Maze generation", step 5).
 * `python` follows `random.seed(seed)`, `numpy` follows `np.random.seed(seed)`.
 */
export class ReferenceMazeRandom implements MazeRandom {
  readonly drawsEveryHunt = true;
  private readonly perm = new Int32Array(4);

  constructor(
    readonly python: Mt19937,
    readonly numpy: Mt19937,
  ) {}

  /** A pair seeded the way `MazeEnv.reset(seed=seed)` seeds the process-wide generators. */
  static fromSeed(seed: number): ReferenceMazeRandom {
    return new ReferenceMazeRandom(Mt19937.fromPythonSeed(seed), Mt19937.fromNumpyLegacySeed(seed));
  }

  /** Both generators' states, for checkpoints. */
  getState(): ReferenceRandomState {
    return { python: this.python.getState(), numpy: this.numpy.getState() };
  }

  /** A pair restored from {@link getState}. */
  static fromState(state: ReferenceRandomState): ReferenceMazeRandom {
    const r = new ReferenceMazeRandom(new Mt19937(), new Mt19937());
    r.python.setState(state.python);
    r.numpy.setState(state.numpy);
    return r;
  }

  /** Re-seeds both generators in place, as `MazeEnv.reset(seed=seed)` does (no allocation). */
  reseed(seed: number): void {
    // Validate first so that a rejected seed leaves both streams as they were.
    assertReferenceSeed(seed);
    this.python.seedPython(seed);
    this.numpy.seedNumpyLegacy(seed);
  }

  /** CPython's `_randbelow_with_getrandbits`: k = bit length of n, redraw while >= n. */
  below(n: number): number {
    const k = 32 - Math.clz32(n);
    const shift = 32 - k;
    let r = this.python.nextUint32() >>> shift;
    while (r >= n) r = this.python.nextUint32() >>> shift;
    return r;
  }

  chooseNeighbour(count: number): number {
    const perm = this.perm;
    for (let i = 0; i < count; i++) perm[i] = i;
    // numpy legacy shuffle of a Python list: i from n-1 down to 1, j = masked rejection in [0, i].
    for (let i = count - 1; i >= 1; i--) {
      let mask = i;
      mask |= mask >>> 1;
      mask |= mask >>> 2;
      let j = (this.numpy.nextUint32() & mask) >>> 0;
      while (j > i) j = (this.numpy.nextUint32() & mask) >>> 0;
      const t = perm[i] as number;
      perm[i] = perm[j] as number;
      perm[j] = t;
    }
    // random.choice draws even from a one-element list.
    return perm[this.below(count)] as number;
  }
}
