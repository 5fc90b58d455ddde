/**
 * The cores' two dense contractions, written for speed without changing a single bit of their
 * results: every output is summed in the order of the plain loops (bias, then inputs ascending;
 * parameter gradients over examples ascending; the gradient reaching h over gates ascending), and
 * the loops are register-blocked (several outputs per pass, sharing their loads), which V8 runs about
 * twice as fast as one output at a time. Where a block meets a zero factor it adds an exact signed
 * zero to a sum that started at +0 and so is never -0: the result is that of skipping the term, as
 * the plain loops did (for finite values).
 */
/** The cores' parameters (structurally `CoreParams`; declared here to keep the imports one-way). */
interface CoreParams {
  readonly w_ih: Float64Array;
  readonly w_hh: Float64Array;
  readonly b: Float64Array;
}

/** pre[n, g] = b[g] + W_ih[g] . x[n] + W_hh[g] . h[n], four gates by two examples at a time. */
export function preactivations(
  p: CoreParams,
  x: Float64Array,
  h: Float64Array,
  hStride: number,
  B: number,
  G: number,
  I: number,
  H: number,
): Float64Array {
  const pre = new Float64Array(B * G);
  const { w_ih: wi, w_hh: wh, b } = p;
  let n = 0;
  for (; n + 1 < B; n += 2) {
    const xo = n * I;
    const xp = xo + I;
    const ho = n * hStride;
    const hp = ho + hStride;
    let g = 0;
    for (; g + 3 < G; g += 4) {
      let v0 = b[g] as number;
      let v1 = b[g + 1] as number;
      let v2 = b[g + 2] as number;
      let v3 = b[g + 3] as number;
      let u0 = v0;
      let u1 = v1;
      let u2 = v2;
      let u3 = v3;
      const a0 = g * I;
      const a1 = a0 + I;
      const a2 = a1 + I;
      const a3 = a2 + I;
      for (let k = 0; k < I; k++) {
        const xk = x[xo + k] as number;
        const yk = x[xp + k] as number;
        const w0 = wi[a0 + k] as number;
        const w1 = wi[a1 + k] as number;
        const w2 = wi[a2 + k] as number;
        const w3 = wi[a3 + k] as number;
        v0 += w0 * xk;
        v1 += w1 * xk;
        v2 += w2 * xk;
        v3 += w3 * xk;
        u0 += w0 * yk;
        u1 += w1 * yk;
        u2 += w2 * yk;
        u3 += w3 * yk;
      }
      const c0 = g * H;
      const c1 = c0 + H;
      const c2 = c1 + H;
      const c3 = c2 + H;
      for (let k = 0; k < H; k++) {
        const xk = h[ho + k] as number;
        const yk = h[hp + k] as number;
        const w0 = wh[c0 + k] as number;
        const w1 = wh[c1 + k] as number;
        const w2 = wh[c2 + k] as number;
        const w3 = wh[c3 + k] as number;
        v0 += w0 * xk;
        v1 += w1 * xk;
        v2 += w2 * xk;
        v3 += w3 * xk;
        u0 += w0 * yk;
        u1 += w1 * yk;
        u2 += w2 * yk;
        u3 += w3 * yk;
      }
      const o = n * G + g;
      pre[o] = v0;
      pre[o + 1] = v1;
      pre[o + 2] = v2;
      pre[o + 3] = v3;
      pre[o + G] = u0;
      pre[o + G + 1] = u1;
      pre[o + G + 2] = u2;
      pre[o + G + 3] = u3;
    }
    for (; g < G; g++) {
      preactivation(p, x, h, xo, ho, g, I, H, pre, n * G);
      preactivation(p, x, h, xp, hp, g, I, H, pre, (n + 1) * G);
    }
  }
  for (; n < B; n++)
    for (let g = 0; g < G; g++) preactivation(p, x, h, n * I, n * hStride, g, I, H, pre, n * G);
  return pre;
}

function preactivation(
  p: CoreParams,
  x: Float64Array,
  h: Float64Array,
  xo: number,
  ho: number,
  g: number,
  I: number,
  H: number,
  pre: Float64Array,
  po: number,
): void {
  let v = p.b[g] as number;
  for (let k = 0; k < I; k++) v += (p.w_ih[g * I + k] as number) * (x[xo + k] as number);
  for (let k = 0; k < H; k++) v += (p.w_hh[g * H + k] as number) * (h[ho + k] as number);
  pre[po + g] = v;
}

/**
 * grads += dPre^T [x, h] and returns dPre W_hh (the gradient reaching h; zeros unless `wantDh`).
 */
export function backwardLinear(
  p: CoreParams,
  grads: CoreParams,
  dPre: Float64Array,
  x: Float64Array,
  h: Float64Array,
  hStride: number,
  B: number,
  G: number,
  I: number,
  H: number,
  wantDh = true,
): Float64Array {
  const dh = new Float64Array(B * H);
  if (wantDh) gradientToHidden(dPre, p.w_hh, B, G, H, dh);
  const { w_ih: gi, w_hh: gh, b: gb } = grads;
  let g = 0;
  for (; g + 1 < G; g += 2) {
    let n = 0;
    for (; n + 3 < B; n += 4) {
      const d0 = dPre[n * G + g] as number;
      const d1 = dPre[(n + 1) * G + g] as number;
      const d2 = dPre[(n + 2) * G + g] as number;
      const d3 = dPre[(n + 3) * G + g] as number;
      const e0 = dPre[n * G + g + 1] as number;
      const e1 = dPre[(n + 1) * G + g + 1] as number;
      const e2 = dPre[(n + 2) * G + g + 1] as number;
      const e3 = dPre[(n + 3) * G + g + 1] as number;
      if (d0 === 0 && d1 === 0 && d2 === 0 && d3 === 0 && e0 === 0 && e1 === 0 && e2 === 0 && e3 === 0)
        continue;
      gb[g] = (gb[g] as number) + d0 + d1 + d2 + d3;
      gb[g + 1] = (gb[g + 1] as number) + e0 + e1 + e2 + e3;
      outerPair(gi, g * I, I, x, n * I, I, d0, d1, d2, d3, e0, e1, e2, e3);
      outerPair(gh, g * H, H, h, n * hStride, hStride, d0, d1, d2, d3, e0, e1, e2, e3);
    }
    if (n + 1 < B) {
      // Two examples left: one pass for both.
      const d0 = dPre[n * G + g] as number;
      const d1 = dPre[(n + 1) * G + g] as number;
      const e0 = dPre[n * G + g + 1] as number;
      const e1 = dPre[(n + 1) * G + g + 1] as number;
      if (d0 !== 0 || d1 !== 0 || e0 !== 0 || e1 !== 0) {
        gb[g] = (gb[g] as number) + d0 + d1;
        gb[g + 1] = (gb[g + 1] as number) + e0 + e1;
        outerPair2(gi, g * I, I, x, n * I, I, d0, d1, e0, e1);
        outerPair2(gh, g * H, H, h, n * hStride, hStride, d0, d1, e0, e1);
      }
      n += 2;
    }
    for (; n < B; n++) {
      gradientRow(grads, dPre, x, h, hStride, n, g, G, I, H);
      gradientRow(grads, dPre, x, h, hStride, n, g + 1, G, I, H);
    }
  }
  for (; g < G; g++) for (let n = 0; n < B; n++) gradientRow(grads, dPre, x, h, hStride, n, g, G, I, H);
  return dh;
}

/**
 * Rows r and r + 1 of a gradient (width `w`, row r at `ro`) += four examples' factors d and e times
 * their rows of `v` (the first at `vo`, `stride` apart).
 */
function outerPair(
  grad: Float64Array,
  ro: number,
  w: number,
  v: Float64Array,
  vo: number,
  stride: number,
  d0: number,
  d1: number,
  d2: number,
  d3: number,
  e0: number,
  e1: number,
  e2: number,
  e3: number,
): void {
  const r1 = ro + w;
  const v1 = vo + stride;
  const v2 = v1 + stride;
  const v3 = v2 + stride;
  for (let k = 0; k < w; k++) {
    const x0 = v[vo + k] as number;
    const x1 = v[v1 + k] as number;
    const x2 = v[v2 + k] as number;
    const x3 = v[v3 + k] as number;
    grad[ro + k] = (grad[ro + k] as number) + d0 * x0 + d1 * x1 + d2 * x2 + d3 * x3;
    grad[r1 + k] = (grad[r1 + k] as number) + e0 * x0 + e1 * x1 + e2 * x2 + e3 * x3;
  }
}

/** `outerPair` for two examples. */
function outerPair2(
  grad: Float64Array,
  ro: number,
  w: number,
  v: Float64Array,
  vo: number,
  stride: number,
  d0: number,
  d1: number,
  e0: number,
  e1: number,
): void {
  const r1 = ro + w;
  const v1 = vo + stride;
  for (let k = 0; k < w; k++) {
    const x0 = v[vo + k] as number;
    const x1 = v[v1 + k] as number;
    grad[ro + k] = (grad[ro + k] as number) + d0 * x0 + d1 * x1;
    grad[r1 + k] = (grad[r1 + k] as number) + e0 * x0 + e1 * x1;
  }
}

function gradientRow(
  grads: CoreParams,
  dPre: Float64Array,
  x: Float64Array,
  h: Float64Array,
  hStride: number,
  n: number,
  g: number,
  G: number,
  I: number,
  H: number,
): void {
  const d = dPre[n * G + g] as number;
  if (d === 0) return;
  grads.b[g] = (grads.b[g] as number) + d;
  for (let k = 0; k < I; k++)
    grads.w_ih[g * I + k] = (grads.w_ih[g * I + k] as number) + d * (x[n * I + k] as number);
  for (let k = 0; k < H; k++)
    grads.w_hh[g * H + k] = (grads.w_hh[g * H + k] as number) + d * (h[n * hStride + k] as number);
}

/** dh[n] = dPre[n] W (W [G, H]), over g ascending; two examples share each pass over four rows of W. */
function gradientToHidden(
  dPre: Float64Array,
  W: Float64Array,
  B: number,
  G: number,
  H: number,
  dh: Float64Array,
): void {
  let n = 0;
  for (; n + 1 < B; n += 2) {
    const xo = n * G;
    const yo = xo + G;
    const o = n * H;
    const q = o + H;
    let i = 0;
    for (; i + 3 < G; i += 4) {
      const x0 = dPre[xo + i] as number;
      const x1 = dPre[xo + i + 1] as number;
      const x2 = dPre[xo + i + 2] as number;
      const x3 = dPre[xo + i + 3] as number;
      const y0 = dPre[yo + i] as number;
      const y1 = dPre[yo + i + 1] as number;
      const y2 = dPre[yo + i + 2] as number;
      const y3 = dPre[yo + i + 3] as number;
      if (x0 === 0 && x1 === 0 && x2 === 0 && x3 === 0 && y0 === 0 && y1 === 0 && y2 === 0 && y3 === 0)
        continue;
      const r0 = i * H;
      const r1 = r0 + H;
      const r2 = r1 + H;
      const r3 = r2 + H;
      for (let j = 0; j < H; j++) {
        const w0 = W[r0 + j] as number;
        const w1 = W[r1 + j] as number;
        const w2 = W[r2 + j] as number;
        const w3 = W[r3 + j] as number;
        dh[o + j] = (dh[o + j] as number) + x0 * w0 + x1 * w1 + x2 * w2 + x3 * w3;
        dh[q + j] = (dh[q + j] as number) + y0 * w0 + y1 * w1 + y2 * w2 + y3 * w3;
      }
    }
    for (; i < G; i++) {
      const xi = dPre[xo + i] as number;
      const yi = dPre[yo + i] as number;
      const r = i * H;
      if (xi !== 0) for (let j = 0; j < H; j++) dh[o + j] = (dh[o + j] as number) + xi * (W[r + j] as number);
      if (yi !== 0) for (let j = 0; j < H; j++) dh[q + j] = (dh[q + j] as number) + yi * (W[r + j] as number);
    }
  }
  for (; n < B; n++) {
    for (let i = 0; i < G; i++) {
      const xi = dPre[n * G + i] as number;
      if (xi === 0) continue;
      for (let j = 0; j < H; j++) dh[n * H + j] = (dh[n * H + j] as number) + xi * (W[i * H + j] as number);
    }
  }
}
