import { ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON } from "./optim.js";

/**
 * Dense float64 matrices and Adam for the plain-arithmetic learners (linear64.ts, moments64.ts):
 * the few operations they need, written out so that their order of operations is fixed.
 */
/** A dense row-major matrix. */
export interface Mat {
  readonly r: number;
  readonly c: number;
  readonly d: Float64Array;
}

export const mat = (r: number, c: number, d: Float64Array = new Float64Array(r * c)): Mat => ({ r, c, d });

export function transpose(A: Mat): Mat {
  const out = mat(A.c, A.r);
  for (let i = 0; i < A.r; i++) for (let j = 0; j < A.c; j++) out.d[j * A.r + i] = A.d[i * A.c + j] as number;
  return out;
}

/**
 * A B, with A transposed when `ta`, B transposed when `tb`. Transposes are materialised first so
 * that the i-k-j loop reads both operands contiguously (strided reads made the k = 100 models ten
 * times slower).
 */
export function mm(A0: Mat, B0: Mat, ta = false, tb = false): Mat {
  const A = ta ? transpose(A0) : A0;
  const B = tb ? transpose(B0) : B0;
  const n = A.r;
  const p = A.c;
  const q = B.c;
  const out = mat(n, q);
  const o = out.d;
  const ad = A.d;
  const bd = B.d;
  // Rows of B that are all zero add nothing: the coefficient matrices of moments64.ts are mostly
  // such rows (a cotangent that lives in one column of the data, an activation in the inputs only).
  const live = new Uint8Array(p);
  for (let k = 0; k < p; k++) {
    for (let j = 0; j < q; j++) {
      if (bd[k * q + j] !== 0) {
        live[k] = 1;
        break;
      }
    }
  }
  // Four rows of the output at a time: each element of B is loaded once for four multiply-adds
  // (2-3x faster in V8 than one row). Every output element still sums its terms in k order.
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o0 = i * q;
    const o1 = o0 + q;
    const o2 = o1 + q;
    const o3 = o2 + q;
    for (let k = 0; k < p; k++) {
      if (live[k] === 0) continue;
      const a0 = ad[i * p + k] as number;
      const a1 = ad[(i + 1) * p + k] as number;
      const a2 = ad[(i + 2) * p + k] as number;
      const a3 = ad[(i + 3) * p + k] as number;
      if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) continue;
      const bk = k * q;
      for (let j = 0; j < q; j++) {
        const b = bd[bk + j] as number;
        o[o0 + j] = (o[o0 + j] as number) + a0 * b;
        o[o1 + j] = (o[o1 + j] as number) + a1 * b;
        o[o2 + j] = (o[o2 + j] as number) + a2 * b;
        o[o3 + j] = (o[o3 + j] as number) + a3 * b;
      }
    }
  }
  for (; i < n; i++) {
    const oi = i * q;
    for (let k = 0; k < p; k++) {
      const a = ad[i * p + k] as number;
      if (a === 0 || live[k] === 0) continue;
      const bk = k * q;
      for (let j = 0; j < q; j++) o[oi + j] = (o[oi + j] as number) + a * (bd[bk + j] as number);
    }
  }
  return out;
}

export function addRow(A: Mat, row: Float64Array): Mat {
  const out = mat(A.r, A.c, Float64Array.from(A.d));
  for (let i = 0; i < A.r; i++)
    for (let j = 0; j < A.c; j++) out.d[i * A.c + j] = (out.d[i * A.c + j] as number) + (row[j] as number);
  return out;
}

export function colSums(A: Mat): Float64Array {
  const s = new Float64Array(A.c);
  for (let i = 0; i < A.r; i++)
    for (let j = 0; j < A.c; j++) s[j] = (s[j] as number) + (A.d[i * A.c + j] as number);
  return s;
}

export function scale(A: Mat, f: number): Mat {
  return mat(
    A.r,
    A.c,
    A.d.map((v) => v * f),
  );
}

export function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/** Adam over a list of arrays, the formula of optim.ts in float64. */
export class Adam64 {
  readonly m: Float64Array[];
  readonly v: Float64Array[];
  t = 0;
  constructor(
    private readonly lr: number,
    sizes: readonly number[],
  ) {
    this.m = sizes.map((s) => new Float64Array(s));
    this.v = sizes.map((s) => new Float64Array(s));
  }
  apply(params: readonly Float64Array[], grads: readonly Float64Array[]): void {
    this.t += 1;
    const c1 = 1 - ADAM_BETA1 ** this.t;
    const c2 = 1 - ADAM_BETA2 ** this.t;
    params.forEach((p, k) => {
      const g = grads[k] as Float64Array;
      const m = this.m[k] as Float64Array;
      const v = this.v[k] as Float64Array;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i] as number;
        m[i] = ADAM_BETA1 * (m[i] as number) + (1 - ADAM_BETA1) * gi;
        v[i] = ADAM_BETA2 * (v[i] as number) + (1 - ADAM_BETA2) * gi * gi;
        p[i] =
          (p[i] as number) -
          (this.lr * ((m[i] as number) / c1)) / (Math.sqrt((v[i] as number) / c2) + ADAM_EPSILON);
      }
    });
  }
}
