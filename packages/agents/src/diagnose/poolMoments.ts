/**
 * Second moments of a pool of per-sample gradients, per unit (a neuron, or any block of
 * parameters), for several kinds of gradient at once (e.g. the true backprop gradient, the one the
 * live mixed backward pass induces, the one the synthetic substitute induces). Everything the
 * gradient diagnosis reports (diagnose/estimatorErrors.ts) is a function of these numbers, so a
 * model only has to deliver them; the per-sample vectors themselves need never exist at once
 * (the feed-forward SparseNet computes the inner products in the factored form of SPEC 4.5).
 *
 * For kinds k, j, unit i and pool samples n = 1..N:
 *   sumInner[k][j][i]    = sum_n <x^k_{n,i}, x^j_{n,i}>
 *   innerOfSums[k][j][i] = <sum_n x^k_{n,i}, sum_n x^j_{n,i}>
 * Both are symmetric in (k, j) and stored in full for simple indexing.
 */

export interface PoolMoments {
  /** Names of the gradient kinds, in index order (e.g. ["backprop", "live", "synthetic"]). */
  readonly kinds: readonly string[];
  /** Pool size N: the number of independent samples the sums run over. */
  readonly samples: number;
  /** Number of units (neurons); every array below holds kinds^2 * units entries. */
  readonly units: number;
  /** sum_n <x^k_n, x^j_n>, at index (k * K + j) * units + i. */
  readonly sumInner: Float64Array;
  /** <sum_n x^k_n, sum_n x^j_n>, same layout. */
  readonly innerOfSums: Float64Array;
}

/** Index of (k, j, unit) in the arrays of {@link PoolMoments}. */
export function momentIndex(
  m: Pick<PoolMoments, "kinds" | "units">,
  k: number,
  j: number,
  unit: number,
): number {
  return (k * m.kinds.length + j) * m.units + unit;
}

/** The index of a kind by name; throws on an unknown name so a typo cannot read zeros. */
export function kindIndex(m: Pick<PoolMoments, "kinds">, name: string): number {
  const k = m.kinds.indexOf(name);
  if (k < 0) throw new Error(`unknown gradient kind "${name}" (have: ${m.kinds.join(", ")})`);
  return k;
}

function dot(a: Float32Array | Float64Array, b: Float32Array | Float64Array): number {
  let s = 0;
  for (let d = 0; d < a.length; d++) s += (a[d] as number) * (b[d] as number);
  return s;
}

/** An entry the loops' bounds guarantee (noUncheckedIndexedAccess). */
function item<T>(list: readonly T[], i: number): T {
  return list[i] as T;
}

/**
 * Builds {@link PoolMoments} from explicit per-sample vectors, one sample at a time. The way to
 * feed the diagnosis when per-sample gradients are materialised anyway (small nets, the
 * recurrent net's per-episode gradients, tests, the expert-network validation). Memory: the
 * running sum vector of every (kind, unit), nothing per sample.
 */
export class PoolMomentAccumulator {
  private readonly sums: Float64Array[][];
  private readonly sumInner: Float64Array;
  private count = 0;

  /** @param unitSizes number of parameters of each unit (may differ between units). */
  constructor(
    readonly kinds: readonly string[],
    readonly unitSizes: readonly number[],
  ) {
    if (kinds.length === 0) throw new Error("PoolMomentAccumulator: at least one gradient kind is needed");
    this.sums = kinds.map(() => unitSizes.map((size) => new Float64Array(size)));
    this.sumInner = new Float64Array(kinds.length * kinds.length * unitSizes.length);
  }

  get samples(): number {
    return this.count;
  }

  /**
   * Adds one sample: vectors[k][i] is the gradient of kind k for unit i (length unitSizes[i]).
   */
  add(vectors: readonly (readonly (Float32Array | Float64Array)[])[]): void {
    const kk = this.kinds.length;
    const units = this.unitSizes.length;
    if (vectors.length !== kk) throw new Error(`add: expected ${kk} kinds, got ${vectors.length}`);
    for (let k = 0; k < kk; k++) {
      const unitsOfKind = item(vectors, k);
      if (unitsOfKind.length !== units)
        throw new Error(`add: kind ${k} has ${unitsOfKind.length} units, expected ${units}`);
      for (let i = 0; i < units; i++) {
        const v = item(unitsOfKind, i);
        const size = item(this.unitSizes, i);
        if (v.length !== size)
          throw new Error(`add: unit ${i} of kind ${k} has length ${v.length}, expected ${size}`);
        const s = this.sumVector(k, i);
        for (let d = 0; d < v.length; d++) s[d] = (s[d] as number) + (v[d] as number);
      }
    }
    const inner = this.sumInner;
    for (let k = 0; k < kk; k++) {
      for (let j = k; j < kk; j++) {
        for (let i = 0; i < units; i++) {
          const value = dot(item(item(vectors, k), i), item(item(vectors, j), i));
          inner[(k * kk + j) * units + i] = (inner[(k * kk + j) * units + i] as number) + value;
          if (j !== k) inner[(j * kk + k) * units + i] = (inner[(j * kk + k) * units + i] as number) + value;
        }
      }
    }
    this.count++;
  }

  /** The running sum vector of a kind for a unit (read-only view; e.g. to form an exact target). */
  sumVector(kind: number, unit: number): Float64Array {
    return item(item(this.sums, kind), unit);
  }

  /** The moments of everything added so far. */
  moments(): PoolMoments {
    const kk = this.kinds.length;
    const units = this.unitSizes.length;
    const innerOfSums = new Float64Array(kk * kk * units);
    for (let k = 0; k < kk; k++) {
      for (let j = 0; j < kk; j++) {
        for (let i = 0; i < units; i++)
          innerOfSums[(k * kk + j) * units + i] = dot(this.sumVector(k, i), this.sumVector(j, i));
      }
    }
    return {
      kinds: [...this.kinds],
      samples: this.count,
      units,
      sumInner: this.sumInner.slice(),
      innerOfSums,
    };
  }
}
