import type { GoldenTensor } from "./format.js";

/** Per-element acceptance: |actual - expected| <= abs + rel * |expected|. */
export interface Tolerance {
  readonly abs: number;
  readonly rel: number;
}

/** What a case checker reports for one file. */
export interface CheckOutcome {
  readonly pass: boolean;
  /** Largest |actual - expected| over every compared value. */
  readonly worstAbs: number;
  /**
   * Largest per-tensor relative error: a tensor's max |actual - expected| divided by its max
   * |expected| (scale-relative, so that entries near zero do not dominate).
   */
  readonly worstRel: number;
  /** Number of compared values. */
  readonly compared: number;
  /** The first mismatch, e.g. `step 12: reward 0.1 != -0.0125`, or a tensor's worst entry. */
  readonly firstMismatch?: string;
}

/**
 * Accumulates comparisons for one golden file. Every failed comparison is remembered in order;
 * the first one becomes the outcome's `firstMismatch`.
 */
export class Comparison {
  private worstAbs = 0;
  private worstRel = 0;
  private compared = 0;
  private readonly failures: string[] = [];

  /** Compares a float tensor; `actual` must have as many values as `expected`. */
  tensor(
    name: string,
    actual: ArrayLike<number>,
    expected: GoldenTensor | readonly number[],
    tol: Tolerance,
  ): boolean {
    const exp = "data" in expected ? expected.data : expected;
    if (actual.length !== exp.length) {
      this.failures.push(`${name}: ${actual.length} values, expected ${exp.length}`);
      return false;
    }
    let maxErr = 0;
    let maxRef = 0;
    let bad = -1;
    for (let i = 0; i < exp.length; i++) {
      const a = actual[i] as number;
      const e = exp[i] as number;
      const err = Math.abs(a - e);
      if (!(err <= tol.abs + tol.rel * Math.abs(e))) {
        if (bad < 0) bad = i;
      }
      if (err > maxErr || Number.isNaN(err)) maxErr = Number.isNaN(err) ? Number.POSITIVE_INFINITY : err;
      if (Math.abs(e) > maxRef) maxRef = Math.abs(e);
    }
    this.compared += exp.length;
    this.worstAbs = Math.max(this.worstAbs, maxErr);
    this.worstRel = Math.max(
      this.worstRel,
      maxRef > 0 ? maxErr / maxRef : maxErr > 0 ? Number.POSITIVE_INFINITY : 0,
    );
    if (bad >= 0) {
      this.failures.push(
        `${name}[${bad}]: ${actual[bad]} != ${exp[bad]} (max abs error ${maxErr.toExponential(2)}, tolerance abs ${tol.abs} rel ${tol.rel})`,
      );
      return false;
    }
    return true;
  }

  /** Compares one number. */
  scalar(name: string, actual: number, expected: number, tol: Tolerance): boolean {
    return this.tensor(name, [actual], [expected], tol);
  }

  /** Exact equality for integers, flags and codes. */
  exact(name: string, actual: ArrayLike<number | boolean>, expected: ArrayLike<number | boolean>): boolean {
    this.compared += expected.length;
    if (actual.length !== expected.length) {
      this.failures.push(`${name}: ${actual.length} values, expected ${expected.length}`);
      return false;
    }
    for (let i = 0; i < expected.length; i++) {
      if (Number(actual[i]) !== Number(expected[i])) {
        this.failures.push(`${name}[${i}]: ${String(actual[i])} != ${String(expected[i])}`);
        return false;
      }
    }
    return true;
  }

  /** Records a mismatch found by the checker itself. */
  fail(message: string): void {
    this.failures.push(message);
  }

  get failed(): boolean {
    return this.failures.length > 0;
  }

  get allFailures(): readonly string[] {
    return this.failures;
  }

  outcome(): CheckOutcome {
    const first = this.failures[0];
    return {
      pass: this.failures.length === 0 && this.compared > 0,
      worstAbs: this.worstAbs,
      worstRel: this.worstRel,
      compared: this.compared,
      ...(first !== undefined
        ? { firstMismatch: first }
        : this.compared === 0
          ? { firstMismatch: "nothing was compared" }
          : {}),
    };
  }
}
