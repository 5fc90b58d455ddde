import { type Mat, mat, mm } from "./dense64.js";
import { Linear64Learner, type Sg64 } from "./linear64.js";

/**
 * The learner of linear64.ts with every sum over examples taken through second moments: the same
 * learning rule, in float64, much cheaper on Table 2's k = 100 data (1000 points, 10 layers of 100).
 *
 * Why it is exact: in a linear net every per-example matrix the step handles (activations h_i,
 * cotangents, SG outputs and targets) is a linear function of the columns of
 * `Z = [X | y | 1 | g]`, where g = dl/dz is the loss's per-example derivative at the output
 * (z - y for MSE, sigmoid(z) - y for log loss). So each is `Z C` for a coefficient matrix C with
 * `k + 2 out + 1` rows instead of n, products with weights act on C (`Z C W`), and every sum over
 * examples is a quadratic form of the moment matrix `G = Z^T Z / n`:
 *   `U^T V = n C_U^T G C_V`, `1^T U = n G[one] C_U`, `y^T U = n G[y] C_U`.
 * Under log loss the output z, g and the g rows of G are computed per example (O(n k) per step);
 * under MSE g = z - y is linear too and nothing is. The rest of G is computed once per data set. A step costs O(L d^2 (k + 3)) instead of O(L n d^2): ten times
 * fewer operations at n = 1000, k = 100, and on the cotangents that live in the g column alone
 * (backprop on log loss) the zero rows are skipped. Sums are formed in another order than the
 * per-example learner's, so the two agree to rounding, not bit for bit (test/moments64.test.ts).
 */
export class Moment64Learner extends Linear64Learner {
  private cache: { x: Mat; y: Mat; s: Float64Array } | undefined;

  /** Column layout of Z for k inputs and `out` outputs. */
  private layout(k: number, out: number) {
    return { y: k, one: k + out, g: k + out + 1, m: k + 2 * out + 1 };
  }

  /** The data's part of G (X, y and the ones column), computed once per (x, y) pair. */
  private staticMoments(x: Mat, y: Mat): Float64Array {
    if (this.cache !== undefined && this.cache.x === x && this.cache.y === y) return this.cache.s;
    const n = x.r;
    const k = x.c;
    const out = y.c;
    const s = k + out + 1;
    const row = new Float64Array(s);
    const M = new Float64Array(s * s);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < k; j++) row[j] = x.d[i * k + j] as number;
      for (let j = 0; j < out; j++) row[k + j] = y.d[i * out + j] as number;
      row[k + out] = 1;
      for (let a = 0; a < s; a++) {
        const ra = row[a] as number;
        if (ra === 0) continue;
        for (let b = 0; b < s; b++) M[a * s + b] = (M[a * s + b] as number) + ra * (row[b] as number);
      }
    }
    for (let i = 0; i < M.length; i++) M[i] = (M[i] as number) / n;
    this.cache = { x, y, s: M };
    return M;
  }

  /** Per-example outputs z = x W_eff + c from the output's coefficients (input and one rows). */
  private outputs(x: Mat, H: Mat, one: number): Mat {
    const n = x.r;
    const k = x.c;
    const out = H.c;
    const z = mat(n, out);
    for (let i = 0; i < n; i++) {
      for (let o = 0; o < out; o++) {
        let v = H.d[one * out + o] as number;
        for (let j = 0; j < k; j++) v += (x.d[i * k + j] as number) * (H.d[j * out + o] as number);
        z.d[i * out + o] = v;
      }
    }
    return z;
  }

  override loss(x: Mat, y: Mat): number {
    const { H, one } = this.forwardCoefficients(x.c, y.c);
    return this.lossOf(this.outputs(x, H.at(-1) as Mat, one), y);
  }

  /** Coefficients of h_0 = X, h_1, ..., h_L in the columns of Z. */
  private forwardCoefficients(k: number, out: number): { H: Mat[]; one: number; m: number } {
    const { one, m } = this.layout(k, out);
    const h0 = mat(m, k);
    for (let j = 0; j < k; j++) h0.d[j * k + j] = 1;
    const H = [h0];
    for (const [i, w] of this.w.entries()) {
      const h = mm(H[i] as Mat, w);
      const b = this.b[i] as Float64Array;
      for (let j = 0; j < h.c; j++) h.d[one * h.c + j] = (h.d[one * h.c + j] as number) + (b[j] as number);
      H.push(h);
    }
    return { H, one, m };
  }

  /** One synchronous step, as Linear64Learner.step; returns the loss before it. */
  override step(x: Mat, y: Mat): number {
    const n = x.r;
    const k = x.c;
    const out = y.c;
    const L = this.w.length;
    const lay = this.layout(k, out);
    const { H, one, m } = this.forwardCoefficients(k, out);
    // The g rows of G, and the loss: under MSE g = z - y is itself linear in Z's columns, so both
    // come from the data's moments; under log loss g is computed per example.
    let before: number;
    let cross: Float64Array;
    if (this.options.loss === "mse") {
      cross = this.mseCross(x, y, H[L] as Mat, lay);
      before = 0;
      for (let o = 0; o < out; o++) before += 0.5 * (cross[o * m + lay.g + o] as number);
    } else {
      const z = this.outputs(x, H[L] as Mat, one);
      before = this.lossOf(z, y);
      const g = new Float64Array(n * out);
      for (let i = 0; i < n * out; i++) g[i] = 1 / (1 + Math.exp(-(z.d[i] as number))) - (y.d[i] as number);
      cross = this.exampleCross(x, y, g, lay);
    }
    const G = this.moments(x, y, cross, lay);
    const gm = mat(m, m, G);
    // G C for each activation, computed when first needed: U^T V = n (G C_U)^T C_V.
    const GH: (Mat | undefined)[] = new Array(L + 1);
    const gh = (i: number): Mat => {
      const cached = GH[i];
      if (cached !== undefined) return cached;
      // h_0 = X: G C_0 is G's first k columns, copied rather than multiplied by an identity.
      const v = i === 0 ? columns(G, m, k) : mm(gm, H[i] as Mat);
      GH[i] = v;
      return v;
    };
    // Mean over examples of a row selection of Z times C: rows `from..from+count` of G, times C.
    const meanOf = (from: number, count: number, C: Mat): Mat =>
      mm(mat(count, m, G.subarray(from * m, (from + count) * m)), C);
    // dL/d(output) of the mean loss: g / n, in the g column.
    const gOut = mat(m, out);
    for (let o = 0; o < out; o++) gOut.d[(lay.g + o) * out + o] = 1 / n;
    const dW: Mat[] = new Array(L);
    const dB: Float64Array[] = new Array(L);
    const back = (from: number, to: number, c: Mat): Mat => {
      let cur = c;
      for (let i = to - 1; i >= from; i--) {
        dW[i] = scaled(mm(gh(i), cur, true, false), n);
        dB[i] = scaled(meanOf(one, 1, cur), n).d;
        cur = mm(cur, this.w[i] as Mat, false, true);
      }
      return cur;
    };
    const sgGrads: Float64Array[] = [];
    if (this.options.method === "backprop") {
      back(0, L, gOut);
    } else {
      const ks = this.options.sgAt;
      const gUsed = new Map<number, Mat>();
      const sgOuts = ks.map((at, j) => this.sgCoefficients(this.sg[j] as Sg64, H[at] as Mat, lay));
      const top = ks[ks.length - 1] as number;
      gUsed.set(top, back(top, L, gOut));
      for (let j = ks.length - 1; j >= 0; j--) {
        const above = ks[j] as number;
        const from = j > 0 ? (ks[j - 1] as number) : 0;
        const gIn = back(from, above, scaled(sgOuts[j] as Mat, 1 / n));
        if (from > 0) gUsed.set(from, gIn);
      }
      ks.forEach((at, j) => {
        const s = this.sg[j] as Sg64;
        const target = gUsed.get(at) as Mat;
        const r = sgOuts[j] as Mat;
        // R = SG - n * (the cotangent passed down): the regression residual, per example.
        const R = mat(
          r.r,
          r.c,
          r.d.map((v, i) => v - n * (target.d[i] as number)),
        );
        if (s.a) sgGrads.push(mm(gh(at), R, true, false).d);
        if (s.b) sgGrads.push(meanOf(lay.y, out, R).d);
        sgGrads.push(meanOf(one, 1, R).d);
      });
    }
    this.opt.apply(
      this.netArrays(),
      dW.flatMap((w, i) => [w.d, dB[i] as Float64Array]),
    );
    this.sgOpt?.apply(this.sgArrays(), sgGrads);
    this.stepCount += 1;
    return before;
  }

  /** G = Z^T Z / n with Z = [X | y | 1 | g], row-major [m, m], from the data's part and the g rows. */
  private moments(x: Mat, y: Mat, cross: Float64Array, lay: { g: number; m: number }): Float64Array {
    const out = y.c;
    const { m } = lay;
    const s = x.c + out + 1;
    const S = this.staticMoments(x, y);
    const G = new Float64Array(m * m);
    for (let a = 0; a < s; a++) G.set(S.subarray(a * s, (a + 1) * s), a * m);
    for (let o = 0; o < out; o++) {
      for (let j = 0; j < m; j++) {
        const v = cross[o * m + j] as number;
        G[(lay.g + o) * m + j] = v;
        G[j * m + lay.g + o] = v;
      }
    }
    return G;
  }

  /** The g rows of G, [out, m]: X^T g, y^T g, 1^T g and g^T g over n, from per-example g. */
  private exampleCross(
    x: Mat,
    y: Mat,
    g: Float64Array,
    lay: { one: number; g: number; m: number },
  ): Float64Array {
    const n = x.r;
    const k = x.c;
    const out = y.c;
    const { m } = lay;
    const cross = new Float64Array(out * m);
    for (let i = 0; i < n; i++) {
      for (let o = 0; o < out; o++) {
        const gi = g[i * out + o] as number;
        if (gi === 0) continue;
        const base = o * m;
        for (let j = 0; j < k; j++)
          cross[base + j] = (cross[base + j] as number) + gi * (x.d[i * k + j] as number);
        for (let j = 0; j < out; j++)
          cross[base + k + j] = (cross[base + k + j] as number) + gi * (y.d[i * out + j] as number);
        cross[base + lay.one] = (cross[base + lay.one] as number) + gi;
        for (let j = 0; j < out; j++)
          cross[base + lay.g + j] = (cross[base + lay.g + j] as number) + gi * (g[i * out + j] as number);
      }
    }
    for (let i = 0; i < cross.length; i++) cross[i] = (cross[i] as number) / n;
    return cross;
  }

  /**
   * The g rows of G under MSE, where g = Z c with c = (the output's coefficients) - (the y
   * column): `Z^T g / n = S c` and `g^T g / n = c^T S c`, with S the data's moments.
   */
  private mseCross(x: Mat, y: Mat, out: Mat, lay: { y: number; g: number; m: number }): Float64Array {
    const S = this.staticMoments(x, y);
    const s = x.c + y.c + 1;
    const q = y.c;
    const { m } = lay;
    const c = new Float64Array(s * q);
    for (let j = 0; j < s; j++) for (let o = 0; o < q; o++) c[j * q + o] = out.d[j * q + o] as number;
    for (let o = 0; o < q; o++) c[(lay.y + o) * q + o] = (c[(lay.y + o) * q + o] as number) - 1;
    const cross = new Float64Array(q * m);
    for (let o = 0; o < q; o++) {
      for (let j = 0; j < s; j++) {
        let v = 0;
        for (let a = 0; a < s; a++) v += (S[j * s + a] as number) * (c[a * q + o] as number);
        cross[o * m + j] = v;
      }
    }
    for (let o = 0; o < q; o++) {
      for (let p = 0; p < q; p++) {
        let v = 0;
        for (let j = 0; j < s; j++) v += (c[j * q + o] as number) * (cross[p * m + j] as number);
        cross[o * m + lay.g + p] = v;
      }
    }
    return cross;
  }

  /** Coefficients of an SG's output 1 c + h A + y B, given h's coefficients. */
  private sgCoefficients(s: Sg64, h: Mat, lay: { y: number; one: number }): Mat {
    const out = s.a ? mm(h, s.a) : mat(h.r, h.c);
    const d = h.c;
    for (let j = 0; j < d; j++)
      out.d[lay.one * d + j] = (out.d[lay.one * d + j] as number) + (s.c.d[j] as number);
    if (s.b) {
      const b = s.b;
      for (let o = 0; o < b.r; o++)
        for (let j = 0; j < d; j++)
          out.d[(lay.y + o) * d + j] = (out.d[(lay.y + o) * d + j] as number) + (b.d[o * d + j] as number);
    }
    return out;
  }
}

/** Columns 0..count-1 of a row-major [m, m] matrix, as [m, count]. */
function columns(G: Float64Array, m: number, count: number): Mat {
  const out = mat(m, count);
  for (let i = 0; i < m; i++) out.d.set(G.subarray(i * m, i * m + count), i * count);
  return out;
}

function scaled(A: Mat, f: number): Mat {
  return mat(
    A.r,
    A.c,
    A.d.map((v) => v * f),
  );
}
