/**
 * Row vectors times state Jacobians, the inner loop of BP(lambda)'s replay (packages/agents
 * `bpLambda.ts`, used by @sgprop/bp-lambda), written for speed without changing a bit of the results:
 * each output is summed over the Jacobian's rows in ascending order, exactly as the plain loop
 * `out[j] += x[i] J[i][j]` (i ascending, rows with x[i] = 0 skipped) does. The loops are blocked (four
 * rows, and two vectors sharing the loads of J); a zero x inside a block adds an exact signed zero to
 * a sum that started at +0 and so is never -0, which for finite J equals skipping it.
 */

/**
 * y[n] = x[n] J[n] for row vectors x [B, O] and Jacobians J [B, O, O] (a vector-Jacobian product).
 * Each y[n, j] is summed over i in ascending order, rows with x[n, i] = 0 contributing nothing;
 * rows go four at a time (fewer loads and stores of y, the same sums for finite J: a zero x adds
 * a signed zero, which leaves a sum that started at +0 unchanged).
 */
export function rowTimesJacobian(
  x: Float64Array,
  jac: Float64Array,
  batch: number,
  size: number,
  out: Float64Array,
) {
  out.fill(0, 0, batch * size);
  for (let n = 0; n < batch; n++) {
    rowTimesMatrix(x, n * size, jac, n * size * size, size, size, out, n * size);
  }
  return out;
}

/**
 * out[o + j] += sum_i x[xo + i] m[mo + i cols + j] for i < rows, j < cols, i ascending, four rows
 * at a time; rows whose x is 0 are skipped (a zero x in a block of four adds a signed zero to a
 * sum that is never -0, so the result is that of skipping it, for finite m).
 */
export function rowTimesMatrix(
  x: Float64Array,
  xo: number,
  m: Float64Array,
  mo: number,
  rows: number,
  cols: number,
  out: Float64Array,
  o: number,
): void {
  let i = 0;
  for (; i + 3 < rows; i += 4) {
    const x0 = x[xo + i] as number;
    const x1 = x[xo + i + 1] as number;
    const x2 = x[xo + i + 2] as number;
    const x3 = x[xo + i + 3] as number;
    if (x0 === 0 && x1 === 0 && x2 === 0 && x3 === 0) continue;
    const r0 = mo + i * cols;
    const r1 = r0 + cols;
    const r2 = r1 + cols;
    const r3 = r2 + cols;
    for (let j = 0; j < cols; j++) {
      out[o + j] =
        (out[o + j] as number) +
        x0 * (m[r0 + j] as number) +
        x1 * (m[r1 + j] as number) +
        x2 * (m[r2 + j] as number) +
        x3 * (m[r3 + j] as number);
    }
  }
  for (; i < rows; i++) {
    const xi = x[xo + i] as number;
    if (xi === 0) continue;
    const row = mo + i * cols;
    for (let j = 0; j < cols; j++) out[o + j] = (out[o + j] as number) + xi * (m[row + j] as number);
  }
}

/**
 * `rowTimesMatrix` for `count` vectors at once: vector v is read from x at xo + v xStride and added
 * into out at o + v oStride. Two vectors share each pass over four rows of m.
 */
export function rowsTimesMatrix(
  x: Float64Array,
  xo: number,
  xStride: number,
  count: number,
  m: Float64Array,
  mo: number,
  rows: number,
  cols: number,
  out: Float64Array,
  o: number,
  oStride: number,
): void {
  let v = 0;
  for (; v + 1 < count; v += 2) {
    const xa = xo + v * xStride;
    const xb = xa + xStride;
    const oa = o + v * oStride;
    const ob = oa + oStride;
    let i = 0;
    for (; i + 3 < rows; i += 4) {
      const a0 = x[xa + i] as number;
      const a1 = x[xa + i + 1] as number;
      const a2 = x[xa + i + 2] as number;
      const a3 = x[xa + i + 3] as number;
      const b0 = x[xb + i] as number;
      const b1 = x[xb + i + 1] as number;
      const b2 = x[xb + i + 2] as number;
      const b3 = x[xb + i + 3] as number;
      if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0 && b0 === 0 && b1 === 0 && b2 === 0 && b3 === 0)
        continue;
      const r0 = mo + i * cols;
      const r1 = r0 + cols;
      const r2 = r1 + cols;
      const r3 = r2 + cols;
      for (let j = 0; j < cols; j++) {
        const m0 = m[r0 + j] as number;
        const m1 = m[r1 + j] as number;
        const m2 = m[r2 + j] as number;
        const m3 = m[r3 + j] as number;
        out[oa + j] = (out[oa + j] as number) + a0 * m0 + a1 * m1 + a2 * m2 + a3 * m3;
        out[ob + j] = (out[ob + j] as number) + b0 * m0 + b1 * m1 + b2 * m2 + b3 * m3;
      }
    }
    for (; i < rows; i++) {
      const a = x[xa + i] as number;
      const b = x[xb + i] as number;
      const r = mo + i * cols;
      if (a !== 0 && b !== 0) {
        for (let j = 0; j < cols; j++) {
          const mj = m[r + j] as number;
          out[oa + j] = (out[oa + j] as number) + a * mj;
          out[ob + j] = (out[ob + j] as number) + b * mj;
        }
      } else if (a !== 0) {
        for (let j = 0; j < cols; j++) out[oa + j] = (out[oa + j] as number) + a * (m[r + j] as number);
      } else if (b !== 0) {
        for (let j = 0; j < cols; j++) out[ob + j] = (out[ob + j] as number) + b * (m[r + j] as number);
      }
    }
  }
  if (v < count) rowTimesMatrix(x, xo + v * xStride, m, mo, rows, cols, out, o + v * oStride);
}

/**
 * A state Jacobian J_t ([B, O, O] in gradient space) in whatever form its owner keeps it, as the
 * learner uses it: row vectors times J. `times` must give exactly what `rowTimesJacobian` gives on
 * the dense matrices (a core can skip the structural zeros of its Jacobian, e.g. an LSTM's cell
 * columns, and keep only the rest).
 */
export interface RowJacobian {
  /** out[n] = x[n] J[n] for x [B, O]; out is overwritten and returned. */
  times(x: Float64Array, out: Float64Array): Float64Array;
  /**
   * `times` for `count` vectors packed [count, B, O] in x, into out (the same packing, overwritten):
   * what `times` gives on each, computed with each Jacobian read once for all of them.
   */
  timesMany?(x: Float64Array, count: number, out: Float64Array): Float64Array;
}

/** Dense Jacobians [B, O, O] as a `RowJacobian` (kept by reference, not copied). */
export class DenseRowJacobian implements RowJacobian {
  constructor(
    readonly values: Float64Array,
    readonly batch: number,
    readonly size: number,
  ) {}

  times(x: Float64Array, out: Float64Array): Float64Array {
    return rowTimesJacobian(x, this.values, this.batch, this.size, out);
  }

  timesMany(x: Float64Array, count: number, out: Float64Array): Float64Array {
    const { batch: B, size: O } = this;
    out.fill(0, 0, count * B * O);
    for (let n = 0; n < B; n++)
      rowsTimesMatrix(x, n * O, B * O, count, this.values, n * O * O, O, O, out, n * O, B * O);
    return out;
  }
}

/** `jac.timesMany` where the Jacobian has it, else `times` on each packed vector. */
export function timesMany(
  jac: RowJacobian,
  x: Float64Array,
  count: number,
  width: number,
  out: Float64Array,
): Float64Array {
  if (jac.timesMany) return jac.timesMany(x, count, out);
  for (let v = 0; v < count; v++)
    jac.times(x.subarray(v * width, (v + 1) * width), out.subarray(v * width, (v + 1) * width));
  return out;
}

/** The dense [B, O, O] of any `RowJacobian`: unit rows times J (exact: 1 x J_ij added to +0). */
export function denseJacobian(jac: RowJacobian, batch: number, size: number): Float64Array {
  const dense = new Float64Array(batch * size * size);
  const x = new Float64Array(batch * size);
  const row = new Float64Array(batch * size);
  for (let i = 0; i < size; i++) {
    x.fill(0);
    for (let n = 0; n < batch; n++) x[n * size + i] = 1;
    jac.times(x, row);
    for (let n = 0; n < batch; n++)
      dense.set(row.subarray(n * size, (n + 1) * size), n * size * size + i * size);
  }
  return dense;
}

/**
 * out[n, k] = b[k] + sum_l W[k, l] x[n, l] (W [O, I], x [B, I]), each sum in that order (b, then l
 * ascending): the synthesiser's prediction. Four outputs by two examples per pass share their loads.
 */
export function affineRows(
  W: Float64Array,
  b: Float64Array,
  x: Float64Array,
  B: number,
  O: number,
  I: number,
  out: Float64Array,
): Float64Array {
  let n = 0;
  for (; n + 1 < B; n += 2) {
    const xa = n * I;
    const xb = xa + I;
    let k = 0;
    for (; k + 3 < O; k += 4) {
      const r0 = k * I;
      const r1 = r0 + I;
      const r2 = r1 + I;
      const r3 = r2 + I;
      let v0 = b[k] as number;
      let v1 = b[k + 1] as number;
      let v2 = b[k + 2] as number;
      let v3 = b[k + 3] as number;
      let u0 = v0;
      let u1 = v1;
      let u2 = v2;
      let u3 = v3;
      for (let l = 0; l < I; l++) {
        const p = x[xa + l] as number;
        const q = x[xb + l] as number;
        const w0 = W[r0 + l] as number;
        const w1 = W[r1 + l] as number;
        const w2 = W[r2 + l] as number;
        const w3 = W[r3 + l] as number;
        v0 += w0 * p;
        v1 += w1 * p;
        v2 += w2 * p;
        v3 += w3 * p;
        u0 += w0 * q;
        u1 += w1 * q;
        u2 += w2 * q;
        u3 += w3 * q;
      }
      const o = n * O + k;
      out[o] = v0;
      out[o + 1] = v1;
      out[o + 2] = v2;
      out[o + 3] = v3;
      out[o + O] = u0;
      out[o + O + 1] = u1;
      out[o + O + 2] = u2;
      out[o + O + 3] = u3;
    }
    for (; k < O; k++) {
      out[n * O + k] = affineOne(W, b, x, xa, k, I);
      out[(n + 1) * O + k] = affineOne(W, b, x, xb, k, I);
    }
  }
  for (; n < B; n++) for (let k = 0; k < O; k++) out[n * O + k] = affineOne(W, b, x, n * I, k, I);
  return out;
}

function affineOne(W: Float64Array, b: Float64Array, x: Float64Array, xo: number, k: number, I: number) {
  let v = b[k] as number;
  for (let l = 0; l < I; l++) v += (W[k * I + l] as number) * (x[xo + l] as number);
  return v;
}

/**
 * theta[k, l] (at `to`, [O, I]) += sum_n d[n, k] x[n, l] (d [B, O] at `dOff`, x [B, I]), n ascending
 * per entry, zero d skipped; two rows of theta by four examples per pass.
 */
export function addOuterProducts(
  theta: Float64Array,
  to: number,
  d: Float64Array,
  dOff: number,
  x: Float64Array,
  B: number,
  O: number,
  I: number,
): void {
  let k = 0;
  for (; k + 1 < O; k += 2) {
    const t0 = to + k * I;
    const t1 = t0 + I;
    let n = 0;
    for (; n + 3 < B; n += 4) {
      const r = dOff + n * O + k;
      const a0 = d[r] as number;
      const a1 = d[r + O] as number;
      const a2 = d[r + 2 * O] as number;
      const a3 = d[r + 3 * O] as number;
      const b0 = d[r + 1] as number;
      const b1 = d[r + O + 1] as number;
      const b2 = d[r + 2 * O + 1] as number;
      const b3 = d[r + 3 * O + 1] as number;
      if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0 && b0 === 0 && b1 === 0 && b2 === 0 && b3 === 0)
        continue;
      const x0 = n * I;
      const x1 = x0 + I;
      const x2 = x1 + I;
      const x3 = x2 + I;
      for (let l = 0; l < I; l++) {
        const y0 = x[x0 + l] as number;
        const y1 = x[x1 + l] as number;
        const y2 = x[x2 + l] as number;
        const y3 = x[x3 + l] as number;
        theta[t0 + l] = (theta[t0 + l] as number) + a0 * y0 + a1 * y1 + a2 * y2 + a3 * y3;
        theta[t1 + l] = (theta[t1 + l] as number) + b0 * y0 + b1 * y1 + b2 * y2 + b3 * y3;
      }
    }
    if (n + 1 < B) {
      const r = dOff + n * O + k;
      const a0 = d[r] as number;
      const a1 = d[r + O] as number;
      const b0 = d[r + 1] as number;
      const b1 = d[r + O + 1] as number;
      if (a0 !== 0 || a1 !== 0 || b0 !== 0 || b1 !== 0) {
        const x0 = n * I;
        const x1 = x0 + I;
        for (let l = 0; l < I; l++) {
          const y0 = x[x0 + l] as number;
          const y1 = x[x1 + l] as number;
          theta[t0 + l] = (theta[t0 + l] as number) + a0 * y0 + a1 * y1;
          theta[t1 + l] = (theta[t1 + l] as number) + b0 * y0 + b1 * y1;
        }
      }
      n += 2;
    }
    for (; n < B; n++) {
      const a = d[dOff + n * O + k] as number;
      const b = d[dOff + n * O + k + 1] as number;
      const xo = n * I;
      if (a !== 0)
        for (let l = 0; l < I; l++) theta[t0 + l] = (theta[t0 + l] as number) + a * (x[xo + l] as number);
      if (b !== 0)
        for (let l = 0; l < I; l++) theta[t1 + l] = (theta[t1 + l] as number) + b * (x[xo + l] as number);
    }
  }
  for (; k < O; k++) {
    const t0 = to + k * I;
    for (let n = 0; n < B; n++) {
      const a = d[dOff + n * O + k] as number;
      if (a === 0) continue;
      for (let l = 0; l < I; l++) theta[t0 + l] = (theta[t0 + l] as number) + a * (x[n * I + l] as number);
    }
  }
}
