/*
 * The two contractions of the recurrent SparseNet's neuron core as WebAssembly SIMD kernels
 * (see ../wasmCore.ts for how they are used, and build.sh to rebuild coreKernelsWasm.ts).
 *
 * Every neuron multiplies short vectors (length P*q or M*q+M) by its own small matrix, for every
 * row (time step x environment). Scalar JavaScript loops reach ~1 GFLOP/s on these; f32x4 loops
 * with a block of accumulators in registers several times that. The kernels work in the calling
 * thread's own linear memory; they use no stack and no static data.
 *
 * Besides the two contractions (matvec, outer_acc) the file holds the per-row elementwise parts of
 * the core phases in the same loop order and f64 arithmetic as the JavaScript they replace, with
 * tanh and exp of their own (f64, within a few units of the last place, far below the f32
 * rounding of the stored results).
 *
 * Determinism: each output is summed in a fixed order that depends only on its own inputs (matvec:
 * k ascending; outer_acc: rows ascending within blocks of OUTER_BLOCK rows added in row order), so
 * results do not depend on how callers split rows or neurons between threads. wasm never fuses a
 * multiply and an add, so the same code gives the same bits everywhere.
 */
#include <wasm_simd128.h>

#define EXPORT __attribute__((visibility("default")))
typedef v128_t v4;

/* Rows summed in f32 before their block sum is added to the f64 output. */
#define OUTER_BLOCK 32

static inline v4 madd(v4 acc, v4 a, v4 b) { return wasm_f32x4_add(acc, wasm_f32x4_mul(a, b)); }

/* g[0..3] += a, in f64. */
static inline void add4_f64(double* g, v4 a) {
  v4 lo = wasm_f64x2_promote_low_f32x4(a);
  v4 hi = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(a, a, 2, 3, 0, 1));
  wasm_v128_store(g, wasm_f64x2_add(wasm_v128_load(g), lo));
  wasm_v128_store(g + 2, wasm_f64x2_add(wasm_v128_load(g + 2), hi));
}

/*
 * Per neuron i < nn and row r < n:
 *   z[r][c] = sum_{k < len} u[r][k] * w[k][c]   for c < cp (cp a multiple of 8),
 * with u = U + i*uis (row stride us), w = Wm + i*len*cp ([len][cp]), z = Z + i*zis (row stride zs).
 */
static void matvec_impl(const float* U, int us, int uis, const float* Wm, int len, int cp, float* Z, int zs,
                   int zis, int n, int nn) {
  for (int i = 0; i < nn; i++) {
    const float* u = U + (long)i * uis;
    const float* w = Wm + (long)i * len * cp;
    float* z = Z + (long)i * zis;
    int r = 0;
    for (; r + 4 <= n; r += 4) {
      const float* u0 = u + (long)r * us;
      const float* u1 = u0 + us;
      const float* u2 = u1 + us;
      const float* u3 = u2 + us;
      for (int c = 0; c < cp; c += 8) {
        v4 a0 = wasm_f32x4_splat(0.0f), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
        const float* wc = w + c;
        for (int k = 0; k < len; k++) {
          v4 w0 = wasm_v128_load(wc + (long)k * cp);
          v4 w1 = wasm_v128_load(wc + (long)k * cp + 4);
          v4 x = wasm_f32x4_splat(u0[k]);
          a0 = madd(a0, x, w0);
          b0 = madd(b0, x, w1);
          x = wasm_f32x4_splat(u1[k]);
          a1 = madd(a1, x, w0);
          b1 = madd(b1, x, w1);
          x = wasm_f32x4_splat(u2[k]);
          a2 = madd(a2, x, w0);
          b2 = madd(b2, x, w1);
          x = wasm_f32x4_splat(u3[k]);
          a3 = madd(a3, x, w0);
          b3 = madd(b3, x, w1);
        }
        float* z0 = z + (long)r * zs + c;
        wasm_v128_store(z0, a0);
        wasm_v128_store(z0 + 4, b0);
        wasm_v128_store(z0 + zs, a1);
        wasm_v128_store(z0 + zs + 4, b1);
        wasm_v128_store(z0 + 2 * zs, a2);
        wasm_v128_store(z0 + 2 * zs + 4, b2);
        wasm_v128_store(z0 + 3 * zs, a3);
        wasm_v128_store(z0 + 3 * zs + 4, b3);
      }
    }
    for (; r < n; r++) {
      const float* u0 = u + (long)r * us;
      for (int c = 0; c < cp; c += 8) {
        v4 a0 = wasm_f32x4_splat(0.0f), b0 = a0;
        const float* wc = w + c;
        for (int k = 0; k < len; k++) {
          v4 x = wasm_f32x4_splat(u0[k]);
          a0 = madd(a0, x, wasm_v128_load(wc + (long)k * cp));
          b0 = madd(b0, x, wasm_v128_load(wc + (long)k * cp + 4));
        }
        float* z0 = z + (long)r * zs + c;
        wasm_v128_store(z0, a0);
        wasm_v128_store(z0 + 4, b0);
      }
    }
  }
}

/*
 * G[c][k] += sum_{r < n} X[r][c] * Y[r][k] for c < cols, k < lenp (lenp a multiple of 8), with
 * X [n][cols], Y [n][lenp] and G [cols][lenp] in f64. Rows are summed in f32 within blocks of
 * OUTER_BLOCK rows; the block sums are added to G in f64, block after block.
 */
static void outer_acc_impl(const float* X, const float* Y, double* G, int n, int cols, int lenp) {
  for (int r0 = 0; r0 < n; r0 += OUTER_BLOCK) {
    int r1 = r0 + OUTER_BLOCK < n ? r0 + OUTER_BLOCK : n;
    int c = 0;
    for (; c + 4 <= cols; c += 4) {
      for (int k = 0; k < lenp; k += 8) {
        v4 a0 = wasm_f32x4_splat(0.0f), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
        for (int r = r0; r < r1; r++) {
          const float* x = X + (long)r * cols + c;
          const float* y = Y + (long)r * lenp + k;
          v4 y0 = wasm_v128_load(y);
          v4 y1 = wasm_v128_load(y + 4);
          v4 s = wasm_f32x4_splat(x[0]);
          a0 = madd(a0, s, y0);
          b0 = madd(b0, s, y1);
          s = wasm_f32x4_splat(x[1]);
          a1 = madd(a1, s, y0);
          b1 = madd(b1, s, y1);
          s = wasm_f32x4_splat(x[2]);
          a2 = madd(a2, s, y0);
          b2 = madd(b2, s, y1);
          s = wasm_f32x4_splat(x[3]);
          a3 = madd(a3, s, y0);
          b3 = madd(b3, s, y1);
        }
        double* g = G + (long)c * lenp + k;
        add4_f64(g, a0);
        add4_f64(g + 4, b0);
        add4_f64(g + lenp, a1);
        add4_f64(g + lenp + 4, b1);
        add4_f64(g + 2 * lenp, a2);
        add4_f64(g + 2 * lenp + 4, b2);
        add4_f64(g + 3 * lenp, a3);
        add4_f64(g + 3 * lenp + 4, b3);
      }
    }
    for (; c < cols; c++) {
      for (int k = 0; k < lenp; k += 8) {
        v4 a0 = wasm_f32x4_splat(0.0f), b0 = a0;
        for (int r = r0; r < r1; r++) {
          const float* y = Y + (long)r * lenp + k;
          v4 s = wasm_f32x4_splat(X[(long)r * cols + c]);
          a0 = madd(a0, s, wasm_v128_load(y));
          b0 = madd(b0, s, wasm_v128_load(y + 4));
        }
        double* g = G + (long)c * lenp + k;
        add4_f64(g, a0);
        add4_f64(g + 4, b0);
      }
    }
  }
}

EXPORT void matvec(const float* U, int us, int uis, const float* Wm, int len, int cp, float* Z, int zs,
                   int zis, int n, int nn) {
  matvec_impl(U, us, uis, Wm, len, cp, Z, zs, zis, n, nn);
}

EXPORT void outer_acc(const float* X, const float* Y, double* G, int n, int cols, int lenp) {
  outer_acc_impl(X, Y, G, n, cols, lenp);
}

/* ---------- elementary functions (f64) ---------- */

static inline double max_js(double a, double b) { return a != a ? a : (a > b ? a : b); }

static inline double pow2i(int k) {
  union {
    unsigned long long u;
    double d;
  } v;
  v.u = (unsigned long long)(k + 1023) << 52;
  return v.d;
}

static const double LN2_HI = 6.93147180369123816490e-01;
static const double LN2_LO = 1.90821492927058770002e-10;
static const double INV_LN2 = 1.44269504088896338700e+00;

/* expm1(r) for |r| <= ln2/2 + tiny: Taylor series to r^13 (remainder below 1e-17 relative). */
static inline double expm1_small(double r) {
  double p = 1.0 / 6227020800.0;
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  return r + r * r * p;
}

/* exp(x) for x <= 0 (the softmax's shifted scores). */
static double exp_nonpos(double x) {
  if (x != x) return x;
  if (x < -745.2) return 0.0;
  double k = __builtin_nearbyint(x * INV_LN2);
  double r = (x - k * LN2_HI) - k * LN2_LO;
  double e = 1.0 + expm1_small(r);
  int ki = (int)k;
  if (ki < -1000) return e * pow2i(ki + 100) * pow2i(-100);
  return e * pow2i(ki);
}

/* tanh(x) = expm1(2|x|) / (expm1(2|x|) + 2) with the sign of x. */
static double tanh_f64(double x) {
  if (x != x) return x;
  double a = x < 0 ? -x : x;
  double t;
  if (a > 22.0) {
    t = 1.0;
  } else if (a < 3.7252902984e-09) {
    t = a;
  } else {
    double y = 2.0 * a;
    double k = __builtin_nearbyint(y * INV_LN2);
    double r = (y - k * LN2_HI) - k * LN2_LO;
    double p = expm1_small(r);
    double em1;
    if (k == 0) {
      em1 = p;
    } else {
      double s = pow2i((int)k);
      em1 = s * p + (s - 1.0);
    }
    t = em1 / (em1 + 2.0);
  }
  return x < 0 ? -t : t;
}

/* expm1_small on two lanes, its polynomial in Estrin's scheme (short dependency chains). */
static inline v4 expm1_poly_x2(v4 r) {
#define C2(x) wasm_f64x2_splat(x)
#define MA(a, b, c) wasm_f64x2_add(a, wasm_f64x2_mul(b, c))
  v4 r2 = wasm_f64x2_mul(r, r);
  v4 r4 = wasm_f64x2_mul(r2, r2);
  v4 r8 = wasm_f64x2_mul(r4, r4);
  /* P(r) = sum_{j=0..11} r^j / (j+2)! */
  v4 q0 = MA(C2(0.5), r, C2(1.0 / 6.0));
  v4 q1 = MA(C2(1.0 / 24.0), r, C2(1.0 / 120.0));
  v4 q2 = MA(C2(1.0 / 720.0), r, C2(1.0 / 5040.0));
  v4 q3 = MA(C2(1.0 / 40320.0), r, C2(1.0 / 362880.0));
  v4 q4 = MA(C2(1.0 / 3628800.0), r, C2(1.0 / 39916800.0));
  v4 q5 = MA(C2(1.0 / 479001600.0), r, C2(1.0 / 6227020800.0));
  v4 s0 = MA(q0, r2, q1);
  v4 s1 = MA(q2, r2, q3);
  v4 s2 = MA(q4, r2, q5);
  v4 p = MA(MA(s0, r4, s1), r8, s2);
#undef C2
#undef MA
  return wasm_f64x2_add(r, wasm_f64x2_mul(r2, p));
}

/* exp(x) for x <= 0 on two lanes (x below -700 gives exp(-700) ~ 1e-304 instead of less: such
 * routing weights are 0 in f32 either way). */
static inline v4 exp_nonpos_x2(v4 x) {
  v4 xc = wasm_f64x2_pmax(x, wasm_f64x2_splat(-700.0));
  v4 k = wasm_f64x2_nearest(wasm_f64x2_mul(xc, wasm_f64x2_splat(INV_LN2)));
  v4 r = wasm_f64x2_sub(wasm_f64x2_sub(xc, wasm_f64x2_mul(k, wasm_f64x2_splat(LN2_HI))),
                        wasm_f64x2_mul(k, wasm_f64x2_splat(LN2_LO)));
  v4 e = wasm_f64x2_add(wasm_f64x2_splat(1.0), expm1_poly_x2(r));
  /* 2^k from the low bits of k + 1.5 * 2^52 (two's complement; -1010 <= k <= 0). */
  v4 kb = wasm_f64x2_add(k, wasm_f64x2_splat(6755399441055744.0));
  v4 sc = wasm_i64x2_add(wasm_i64x2_shl(kb, 52), wasm_i64x2_splat((long long)1023 << 52));
  return wasm_f64x2_mul(e, sc);
}

/* tanh_f64 on two lanes (the polynomial summed in another order than the scalar version, so the
 * two may differ in the last f64 bit). */
static inline v4 tanh_f64x2(v4 x) {
  v4 a = wasm_f64x2_abs(x);
  v4 ac = wasm_f64x2_min(a, wasm_f64x2_splat(22.0));
  v4 y = wasm_f64x2_add(ac, ac);
  v4 k = wasm_f64x2_nearest(wasm_f64x2_mul(y, wasm_f64x2_splat(INV_LN2)));
  v4 r = wasm_f64x2_sub(wasm_f64x2_sub(y, wasm_f64x2_mul(k, wasm_f64x2_splat(LN2_HI))),
                        wasm_f64x2_mul(k, wasm_f64x2_splat(LN2_LO)));
  v4 p = expm1_poly_x2(r);
  /* 2^k from the bits of k + 1.5 * 2^52 (whose low bits hold the integer k, 0 <= k <= 64). */
  v4 kb = wasm_f64x2_add(k, wasm_f64x2_splat(6755399441055744.0));
  v4 sc = wasm_i64x2_add(wasm_i64x2_shl(kb, 52), wasm_i64x2_splat((long long)1023 << 52));
  v4 em1 = wasm_f64x2_add(wasm_f64x2_mul(sc, p), wasm_f64x2_sub(sc, wasm_f64x2_splat(1.0)));
  v4 t = wasm_f64x2_div(em1, wasm_f64x2_add(em1, wasm_f64x2_splat(2.0)));
  t = wasm_v128_bitselect(wasm_f64x2_splat(1.0), t, wasm_f64x2_gt(a, wasm_f64x2_splat(22.0)));
  t = wasm_v128_bitselect(a, t, wasm_f64x2_lt(a, wasm_f64x2_splat(3.7252902984e-09)));
  /* NaN stays NaN (abs, min and the comparisons keep or skip it); the sign of x goes back on. */
  t = wasm_v128_bitselect(x, t, wasm_f64x2_ne(x, x));
  v4 sign = wasm_v128_and(x, wasm_i64x2_splat((long long)0x8000000000000000ULL));
  return wasm_v128_or(t, sign);
}

/* ---------- forward ---------- */

/*
 * One step for n rows: gathers the parent inputs u [n][W][Pq] from hPrev [n][W][q] (a row
 * multiplied by keep[b]), z = u wPad [n][W][cp], then per neuron the pre-activations
 * bias (+ ext for input neurons; row b of ext at b*extStride, [Ni][C]), slot outputs y = tanh,
 * routing alpha = softmax(scores / sqrt(D)) and the new state h = sum_s alpha_s y_s.
 */
EXPORT void forward_step(int n, int W, int q, int P, int M, int Ni, const int* parentIdx,
                         const float* hPrev, const float* keep, const float* ext, int extStride,
                         const float* bias,
                         const float* wPad, int cp, double invSqrtD, float* u, float* z, float* y,
                         float* alpha, float* h, double* zz) {
  int Pq = P * q, Mq = M * q, C = Mq + M;
  for (int b = 0; b < n; b++) {
    float kb = keep[b];
    const float* hp = hPrev + (long)b * W * q;
    for (int i = 0; i < W; i++) {
      float* uo = u + ((long)b * W + i) * Pq;
      for (int p = 0; p < P; p++) {
        const float* src = hp + (long)parentIdx[i * P + p] * q;
        for (int j = 0; j < q; j++) uo[p * q + j] = (float)((double)kb * (double)src[j]);
      }
    }
  }
  matvec_impl(u, W * Pq, Pq, wPad, Pq, cp, z, W * cp, cp, n, W);
  for (int b = 0; b < n; b++) {
    for (int i = 0; i < W; i++) {
      const float* zp = z + ((long)b * W + i) * cp;
      const float* bi = bias + (long)i * C;
      if (i < Ni) {
        const float* e = ext + (long)b * extStride + (long)i * C;
        for (int c = 0; c < C; c++) zz[c] = ((double)bi[c] + (double)e[c]) + (double)zp[c];
      } else {
        for (int c = 0; c < C; c++) zz[c] = (double)bi[c] + (double)zp[c];
      }
      long o = (long)b * W + i;
      float* yo = y + o * Mq;
      int c = 0;
      for (; c + 2 <= Mq; c += 2) {
        v4 t = wasm_f32x4_demote_f64x2_zero(tanh_f64x2(wasm_v128_load(zz + c)));
        yo[c] = wasm_f32x4_extract_lane(t, 0);
        yo[c + 1] = wasm_f32x4_extract_lane(t, 1);
      }
      for (; c < Mq; c++) yo[c] = (float)tanh_f64(zz[c]);
      double mx = -__builtin_inf();
      for (int m = 0; m < M; m++) mx = max_js(mx, zz[Mq + m] * invSqrtD);
      double total = 0;
      float* ao = alpha + o * M;
      int m = 0;
      for (; m + 2 <= M; m += 2) {
        v4 x = wasm_f64x2_sub(wasm_f64x2_mul(wasm_v128_load(zz + Mq + m), wasm_f64x2_splat(invSqrtD)),
                              wasm_f64x2_splat(mx));
        v4 e = exp_nonpos_x2(x);
        double e0 = wasm_f64x2_extract_lane(e, 0), e1 = wasm_f64x2_extract_lane(e, 1);
        ao[m] = (float)e0;
        total += e0;
        ao[m + 1] = (float)e1;
        total += e1;
      }
      for (; m < M; m++) {
        double e = exp_nonpos(zz[Mq + m] * invSqrtD - mx);
        ao[m] = (float)e;
        total += e;
      }
      for (int m = 0; m < M; m++) ao[m] = (float)((double)ao[m] / total);
      float* ho = h + o * q;
      for (int j = 0; j < q; j++) {
        double acc = 0;
        for (int m = 0; m < M; m++) acc += (double)ao[m] * (double)yo[m * q + j];
        ho[j] = (float)acc;
      }
    }
  }
}

/* SG predictions of n rows: hhat = sum_s alpha_s (sgBias_s + sgExt_s + u wSg_s) [n][W][q] (row l of
 * sgExt at l*extStride, [Ni][Mq]). */
EXPORT void predictions(int n, int W, int q, int P, int M, int Ni, const float* u, const float* alpha,
                        const float* sgExt, int extStride, const float* sgBias, const float* wPad, int cp,
                        float* z, float* out, double* zz) {
  int Pq = P * q, Mq = M * q;
  matvec_impl(u, W * Pq, Pq, wPad, Pq, cp, z, W * cp, cp, n, W);
  for (int l = 0; l < n; l++) {
    for (int i = 0; i < W; i++) {
      long o = (long)l * W + i;
      const float* zp = z + o * cp;
      const float* bi = sgBias + (long)i * Mq;
      if (i < Ni) {
        const float* e = sgExt + (long)l * extStride + (long)i * Mq;
        for (int c = 0; c < Mq; c++) zz[c] = ((double)bi[c] + (double)e[c]) + (double)zp[c];
      } else {
        for (int c = 0; c < Mq; c++) zz[c] = (double)bi[c] + (double)zp[c];
      }
      const float* ao = alpha + o * M;
      float* ho = out + o * q;
      for (int j = 0; j < q; j++) {
        double acc = 0;
        for (int m = 0; m < M; m++) acc += (double)ao[m] * zz[m * q + j];
        ho[j] = (float)acc;
      }
    }
  }
}

/* ---------- backward ---------- */

/*
 * BPTT over T steps for nb environments (local rows l = t*nb + b, all arrays local):
 * the gradient at H_t is the actor's term plus what came back from step t+1; with mixing it is
 * replaced by theta g + (1 - theta) s; then the slot backward gives the pre-activation gradients
 * dz (kept for every row in dzAll [W][T*nb][cp]), du = W dz flows through the gathers and the
 * resets into H_{t-1}. Finally dwPar[i] ([Pq][cp], f64, overwritten) = sum_l u_l dz_l^T, and with
 * withEmb the input neurons' embedding-map gradient dWemb ([Ni*C][ep], f64, overwritten) =
 * sum_l dzIn_l e_l^T for the embedding rows emb [nRows][ep], and the gradient reaching the
 * embedding, de [nRows][ep] = dzIn wEmb^T (wEmbT [Ni*C][ep]).
 */
EXPORT void backward(int T, int nb, int W, int q, int P, int M, int Ni, const int* parentIdx,
                     const float* keep, const float* dActor, const float* alpha, const float* y,
                     const float* uPar, const float* pred, const double* theta, int mixing,
                     int positiveProjection, double invSqrtD, const float* wT, int cp, int pqp,
                     float* trueGrad, float* mixedGrad, float* substitute, float* dzIn, float* dzAll,
                     float* du, double* carry, double* next, double* dBias, double* dwPar,
                     float* uRows, double* scratch, int withEmb, const float* emb, int ep,
                     const float* wEmbT, double* dWemb, float* de) {
  int Pq = P * q, Mq = M * q, C = Mq + M;
  long nRows = (long)T * nb;
  long stateLen = (long)nb * W * q;
  double* g = scratch;
  double* mixed = g + q;
  double* dzc = mixed + q;
  double* dAlpha = dzc + C;
  for (long x = 0; x < stateLen; x++) carry[x] = 0;
  for (int t = T - 1; t >= 0; t--) {
    for (long x = 0; x < stateLen; x++) next[x] = 0;
    for (int i = 0; i < W; i++) {
      for (int b = 0; b < nb; b++) {
        long rl = (long)t * nb + b;
        long ho = (rl * W + i) * q;
        long co = ((long)b * W + i) * q;
        for (int j = 0; j < q; j++) {
          g[j] = (double)dActor[ho + j] + carry[co + j];
          trueGrad[ho + j] = (float)g[j];
        }
        if (mixing) {
          double th = theta[(long)t * W + i];
          double coef = 1;
          if (positiveProjection) {
            double dot = 0, sq = 0;
            for (int j = 0; j < q; j++) {
              double pj = pred[ho + j];
              dot += g[j] * pj;
              sq += pj * pj;
            }
            coef = max_js(dot, 0) / max_js(sq, 1e-12);
          }
          for (int j = 0; j < q; j++) {
            double sj = coef * (double)pred[ho + j];
            substitute[ho + j] = (float)sj;
            mixed[j] = th * g[j] + (1 - th) * sj;
            mixedGrad[ho + j] = (float)mixed[j];
          }
        } else {
          for (int j = 0; j < q; j++) mixed[j] = g[j];
        }
        const float* ao = alpha + (rl * W + i) * M;
        const float* yo = y + (rl * W + i) * Mq;
        double weighted = 0;
        for (int m = 0; m < M; m++) {
          double a = ao[m];
          double da = 0;
          for (int j = 0; j < q; j++) {
            double yv = yo[m * q + j];
            da += mixed[j] * yv;
            dzc[m * q + j] = a * mixed[j] * (1 - yv * yv);
          }
          dAlpha[m] = da;
          weighted += a * da;
        }
        for (int m = 0; m < M; m++) dzc[Mq + m] = (double)ao[m] * (dAlpha[m] - weighted) * invSqrtD;
        double* db = dBias + (long)i * C;
        for (int c = 0; c < C; c++) db[c] += dzc[c];
        if (i < Ni) {
          float* zi = dzIn + (rl * Ni + i) * C;
          for (int c = 0; c < C; c++) zi[c] = (float)dzc[c];
        }
        float* za = dzAll + ((long)i * nRows + rl) * cp;
        for (int c = 0; c < C; c++) za[c] = (float)dzc[c];
      }
    }
    if (t > 0) {
      matvec_impl(dzAll + (long)t * nb * cp, cp, (int)(nRows * cp), wT, C, pqp, du, W * pqp, pqp, nb, W);
      for (int i = 0; i < W; i++) {
        for (int b = 0; b < nb; b++) {
          double kb = keep[(long)t * nb + b];
          if (kb == 0) continue;
          const float* d = du + ((long)b * W + i) * pqp;
          for (int p = 0; p < P; p++) {
            double* dst = next + ((long)b * W + parentIdx[i * P + p]) * q;
            for (int j = 0; j < q; j++) dst[j] += kb * (double)d[p * q + j];
          }
        }
      }
    }
    double* tmp = carry;
    carry = next;
    next = tmp;
  }
  for (int i = 0; i < W; i++) {
    for (long l = 0; l < nRows; l++) {
      const float* src = uPar + (l * W + i) * Pq;
      for (int k = 0; k < Pq; k++) uRows[l * Pq + k] = src[k];
    }
    double* gi = dwPar + (long)i * Pq * cp;
    for (long x = 0; x < (long)Pq * cp; x++) gi[x] = 0;
    outer_acc_impl(uRows, dzAll + (long)i * nRows * cp, gi, (int)nRows, Pq, cp);
  }
  if (withEmb) {
    for (long x = 0; x < (long)Ni * C * ep; x++) dWemb[x] = 0;
    outer_acc_impl(dzIn, emb, dWemb, (int)nRows, Ni * C, ep);
    matvec_impl(dzIn, Ni * C, 0, wEmbT, Ni * C, ep, de, ep, 0, (int)nRows, 1);
  }
}

/* ---------- SG loss ---------- */

/*
 * SG loss sums over n rows (local layout): loss[0] += sum ||pred - mixed||^2, and with
 * dz[l][s*q+j] = alpha_s 2 (pred - mixed)_j / denom: dsgBias[i] += sum_l dz_l, dzIn [n][Ni][Mq]
 * (input neurons), dsgPar[i] ([Pq][cp], f64, overwritten) = sum_l u_l dz_l^T; with withEmb also
 * dsgEmb ([Ni*Mq][ep], f64, overwritten) = sum_l dzIn_l e_l^T for the embedding rows emb [n][ep].
 */
EXPORT void sg_loss(int n, int W, int q, int P, int M, int Ni, const float* pred, const float* mixed,
                    const float* alpha, const float* uPar, double denom, int cp, float* dz, float* uRows,
                    double* loss, double* dsgBias, float* dzIn, double* dsgPar, int withEmb,
                    const float* emb, int ep, double* dsgEmb) {
  int Pq = P * q, Mq = M * q;
  double total = 0;
  for (int i = 0; i < W; i++) {
    for (int l = 0; l < n; l++) {
      long o = (long)l * W + i;
      const float* ao = alpha + o * M;
      float* dl = dz + (long)l * cp;
      for (int j = 0; j < q; j++) {
        double diff = (double)pred[o * q + j] - (double)mixed[o * q + j];
        total += diff * diff;
        double dp = (2 * diff) / denom;
        for (int m = 0; m < M; m++) dl[m * q + j] = (float)((double)ao[m] * dp);
      }
      double* bi = dsgBias + (long)i * Mq;
      for (int c = 0; c < Mq; c++) bi[c] += dl[c];
      if (i < Ni) {
        float* zi = dzIn + ((long)l * Ni + i) * Mq;
        for (int c = 0; c < Mq; c++) zi[c] = dl[c];
      }
    }
    for (int l = 0; l < n; l++) {
      const float* src = uPar + ((long)l * W + i) * Pq;
      for (int k = 0; k < Pq; k++) uRows[(long)l * Pq + k] = src[k];
    }
    double* gi = dsgPar + (long)i * Pq * cp;
    for (long x = 0; x < (long)Pq * cp; x++) gi[x] = 0;
    outer_acc_impl(uRows, dz, gi, n, Pq, cp);
  }
  loss[0] += total;
  if (withEmb) {
    for (long x = 0; x < (long)Ni * Mq * ep; x++) dsgEmb[x] = 0;
    outer_acc_impl(dzIn, emb, dsgEmb, n, Ni * Mq, ep);
  }
}

/* ---------- eq. 3 sums ---------- */

static void estimator_factors(const double* x, double* f, const float* ao, const float* yo, int M, int q,
                              double invSqrtD) {
  int Mq = M * q;
  double weighted = 0;
  for (int m = 0; m < M; m++) {
    double a = ao[m];
    double xy = 0;
    for (int j = 0; j < q; j++) {
      double yv = yo[m * q + j];
      xy += x[j] * yv;
      f[m * q + j] = a * x[j] * (1 - yv * yv);
    }
    f[Mq + m] = xy;
    weighted += a * xy;
  }
  for (int m = 0; m < M; m++) f[Mq + m] = (double)ao[m] * (f[Mq + m] - weighted) * invSqrtD;
}

/*
 * Eq. 3 sums over n rows (local layout) for every neuron: sums[i] += (sum ||d||^2, sum <w, d>)
 * ([W][2]), tw/td[i] += summed b-parts, gw/gd[i] ([C][cp], f64, overwritten) = sum x u^T for
 * x = w, d. The input neurons' embedding part: their factors [n][Ni][C] (xwIn, xdIn scratch) times
 * the embeddings emb [n][ep] give gwEmb/gdEmb ([Ni*C][ep], f64, overwritten) = sum x e^T, and
 * ||e||^2 joins their ||u||^2.
 */
EXPORT void estimator(int n, int W, int q, int P, int M, int Ni, const float* g, const float* sub,
                      const float* alpha, const float* y, const float* uPar, const float* emb, int E,
                      int ep, double invSqrtD, int cp, float* xw, float* xd, float* uRows, double* sums,
                      double* tw, double* td, double* gw, double* gd, float* xwIn, float* xdIn,
                      double* gwEmb, double* gdEmb, double* scratch) {
  int Pq = P * q, Mq = M * q, C = Mq + M;
  double* gh = scratch;
  double* sh = gh + q;
  double* fw = sh + q;
  double* fs = fw + C;
  double* embSq = fs + C;
  for (int l = 0; l < n; l++) {
    double acc = 0;
    for (int e = 0; e < E; e++) {
      double v = emb[(long)l * ep + e];
      acc += v * v;
    }
    embSq[l] = acc;
  }
  for (int i = 0; i < W; i++) {
    for (int l = 0; l < n; l++) {
      long o = (long)l * W + i;
      double ng = 0, ns = 0;
      for (int j = 0; j < q; j++) {
        double gv = g[o * q + j], sv = sub[o * q + j];
        ng += gv * gv;
        ns += sv * sv;
      }
      ng = max_js(__builtin_sqrt(ng), 1e-12);
      ns = max_js(__builtin_sqrt(ns), 1e-12);
      for (int j = 0; j < q; j++) {
        gh[j] = (double)g[o * q + j] / ng;
        sh[j] = (double)sub[o * q + j] / ns;
      }
      const float* ao = alpha + o * M;
      const float* yo = y + o * Mq;
      estimator_factors(gh, fw, ao, yo, M, q, invSqrtD);
      estimator_factors(sh, fs, ao, yo, M, q, invSqrtD);
      const float* uo = uPar + o * Pq;
      double uSq = i < Ni ? embSq[l] : 0;
      for (int k = 0; k < Pq; k++) {
        double uv = uo[k];
        uSq += uv * uv;
      }
      double dd = 0, wd = 0, ddB = 0, wdB = 0;
      float* xwl = xw + (long)l * C;
      float* xdl = xd + (long)l * C;
      for (int c = 0; c < Mq; c++) {
        double w = fw[c];
        double d = fs[c] - w;
        xwl[c] = (float)w;
        xdl[c] = (float)d;
        dd += d * d;
        wd += w * d;
        ddB += d * d;
        wdB += w * d;
        tw[(long)i * Mq + c] += w;
        td[(long)i * Mq + c] += d;
      }
      for (int c = Mq; c < C; c++) {
        double w = fw[c];
        double d = fs[c] - w;
        xwl[c] = (float)w;
        xdl[c] = (float)d;
        dd += d * d;
        wd += w * d;
      }
      sums[2 * i] = sums[2 * i] + dd * uSq + ddB;
      sums[2 * i + 1] = sums[2 * i + 1] + wd * uSq + wdB;
      for (int k = 0; k < Pq; k++) uRows[(long)l * cp + k] = uo[k];
      if (i < Ni) {
        float* wi = xwIn + ((long)l * Ni + i) * C;
        float* di = xdIn + ((long)l * Ni + i) * C;
        for (int c = 0; c < C; c++) {
          wi[c] = xwl[c];
          di[c] = xdl[c];
        }
      }
    }
    double* gwi = gw + (long)i * C * cp;
    double* gdi = gd + (long)i * C * cp;
    for (long x = 0; x < (long)C * cp; x++) {
      gwi[x] = 0;
      gdi[x] = 0;
    }
    outer_acc_impl(xw, uRows, gwi, n, C, cp);
    outer_acc_impl(xd, uRows, gdi, n, C, cp);
  }
  for (long x = 0; x < (long)Ni * C * ep; x++) {
    gwEmb[x] = 0;
    gdEmb[x] = 0;
  }
  outer_acc_impl(xwIn, emb, gwEmb, n, Ni * C, ep);
  outer_acc_impl(xdIn, emb, gdEmb, n, Ni * C, ep);
}

/* ---------- rollout: embedding and actor ---------- */

/*
 * The observation embedding of n rows: out = LeakyReLU(LayerNorm(obs W1^T + b1) W2^T + b2), with
 * w1 = W1^T as [O][e1p], w2 = W2^T as [E1][ep], x1 [n][e1p] scratch, out [n][ep]. LayerNorm has no
 * affine part and uses the population variance.
 */
EXPORT void embed_rows(int n, int O, int E1, int E, const float* obs, const float* w1, int e1p,
                       const float* b1, const float* w2, int ep, const float* b2, float* x1, float* out,
                       double lnEps, double slope) {
  matvec_impl(obs, O, 0, w1, O, e1p, x1, e1p, 0, n, 1);
  for (int r = 0; r < n; r++) {
    float* x = x1 + (long)r * e1p;
    double mean = 0;
    for (int c = 0; c < E1; c++) {
      x[c] = (float)((double)x[c] + (double)b1[c]);
      mean += x[c];
    }
    mean /= E1;
    double var = 0;
    for (int c = 0; c < E1; c++) {
      double d = (double)x[c] - mean;
      var += d * d;
    }
    var /= E1;
    double inv = 1.0 / __builtin_sqrt(var + lnEps);
    for (int c = 0; c < E1; c++) x[c] = (float)(((double)x[c] - mean) * inv);
  }
  matvec_impl(x1, e1p, 0, w2, E1, ep, out, ep, 0, n, 1);
  for (int r = 0; r < n; r++) {
    float* o = out + (long)r * ep;
    for (int c = 0; c < E; c++) {
      double v = (double)o[c] + (double)b2[c];
      o[c] = (float)(v < 0 ? slope * v : v);
    }
  }
}

/*
 * Slot-mixture actor logits of n rows of flattened states f [n][F]: with z = f w ([F][cp], columns
 * a*S+s the keys, A*S + a*S+s the value maps), beta_{a,s} = softmax_s(z_key / sqrt(F)),
 * logit_a = sum_s beta_{a,s} (z_value + bAct[a*S+s]). z [n][cp] scratch, logits [n][A].
 */
EXPORT void actor_logits(int n, int F, int A, int S, const float* f, const float* w, int cp,
                         const float* bAct, double invSqrtF, float* z, float* logits) {
  matvec_impl(f, F, 0, w, F, cp, z, cp, 0, n, 1);
  for (int r = 0; r < n; r++) {
    const float* zr = z + (long)r * cp;
    for (int a = 0; a < A; a++) {
      double mx = -__builtin_inf();
      for (int s = 0; s < S; s++) mx = max_js(mx, (double)zr[a * S + s] * invSqrtF);
      double total = 0, acc = 0;
      for (int s = 0; s < S; s++) {
        double e = exp_nonpos((double)zr[a * S + s] * invSqrtF - mx);
        total += e;
        acc += e * ((double)zr[A * S + a * S + s] + (double)bAct[a * S + s]);
      }
      logits[(long)r * A + a] = (float)(acc / total);
    }
  }
}
