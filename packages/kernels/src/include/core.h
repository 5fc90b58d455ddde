/*
 * Shared pieces of the recurrent SparseNet's neuron-core kernels (coreForward.c, coreBackward.c,
 * coreSgLoss.c, coreEstimator.c, rollout.c): the two contractions (matvec_impl, outer_acc_impl)
 * and f64 elementary functions, plus the task-block accessors through which the runtime hands a
 * core kernel one fixed half of its rows.
 *
 * Every neuron multiplies short vectors (length P*q or M*q+M) by its own small matrix, for every
 * row (time step x environment). Scalar JavaScript loops reach ~1 GFLOP/s on these; f32x4 loops
 * with a block of accumulators in registers several times that. The kernels use no stack and no
 * static data (threads share the linear memory and nothing else).
 *
 * Besides the two contractions the kernels hold the per-row elementwise parts of the core phases
 * in f64 arithmetic, with tanh and exp of their own (f64, within a few units of the last place,
 * far below the f32 rounding of the stored results).
 *
 * Determinism: each output is summed in a fixed order that depends only on its own inputs (matvec:
 * k ascending; outer_acc: rows ascending within blocks of OUTER_BLOCK rows added in row order), so
 * results do not depend on how callers split rows or neurons between threads. wasm never fuses a
 * multiply and an add, so the same code gives the same bits everywhere.
 */
#ifndef SGPROP_CORE_H
#define SGPROP_CORE_H
#include "simd.h"

/*
 * A core task is one fixed half of a phase's rows (the caller combines the halves' partial
 * outputs in a fixed order, half 0 first). The runtime calls NAME_halves(blocks, lo, hi, slot)
 * for halves [lo, hi); half h's arguments are the block at blocks + h * TASK_WORDS: word 0 is 1
 * when the half has work, argument k sits at words 2 + 2k (an int32, or an f64 over both words).
 */
#define TASK_WORDS 128
/*
 * Kernels and contractions stay functions of their own, as separate exports did before: inlined
 * into the task wrappers they made functions V8 optimises later and worse (measured).
 */
#define NOINLINE __attribute__((noinline))
#define ARG_I(p, k) ((p)[2 + 2 * (k)])
#define ARG_F64(p, k) (*(const double*)((p) + 2 + 2 * (k)))
#define ARG_PTR(T, p, k) ((T*)(p)[2 + 2 * (k)])
/* Defines NAME_halves; the rest of the arguments run one half, with its task block in `p`. */
#define CORE_HALVES(NAME, ...)                                              \
  EXPORT void NAME##_halves(const int* blocks, int lo, int hi, int slot) { \
    (void)slot;                                                            \
    for (int half = lo; half < hi; half++) {                               \
      const int* p = blocks + half * TASK_WORDS;                           \
      if (p[0] != 0) __VA_ARGS__                                           \
    }                                                                      \
  }

/* Rows summed in f32 before their block sum is added to the f64 output. */
#define OUTER_BLOCK 32


/* g[0..3] += a, in f64. */
static inline void add4_f64(double* g, v4 a) {
  v4 lo = wasm_f64x2_promote_low_f32x4(a);
  v4 hi = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(a, a, 2, 3, 0, 1));
  wasm_v128_store(g, wasm_f64x2_add(wasm_v128_load(g), lo));
  wasm_v128_store(g + 2, wasm_f64x2_add(wasm_v128_load(g + 2), hi));
}

/*
 * The register block of the two contractions: accumulators a0 b0 .. a3 b3 hold 4 rows x 8
 * columns. BLOCK_4x8_MADD adds s_r * (w0 | w1) to row r; BLOCK_4x8_PUT hands the block to `put`
 * (a store, or an f64 accumulation) at g with row stride ld.
 */
#define BLOCK_4x8_MADD(s0, s1, s2, s3, w0, w1) \
  do {                                         \
    v4 x_ = wasm_f32x4_splat(s0);              \
    a0 = madd(a0, x_, w0);                     \
    b0 = madd(b0, x_, w1);                     \
    x_ = wasm_f32x4_splat(s1);                 \
    a1 = madd(a1, x_, w0);                     \
    b1 = madd(b1, x_, w1);                     \
    x_ = wasm_f32x4_splat(s2);                 \
    a2 = madd(a2, x_, w0);                     \
    b2 = madd(b2, x_, w1);                     \
    x_ = wasm_f32x4_splat(s3);                 \
    a3 = madd(a3, x_, w0);                     \
    b3 = madd(b3, x_, w1);                     \
  } while (0)
#define BLOCK_4x8_PUT(put, g, ld) \
  do {                            \
    put((g), a0);                 \
    put((g) + 4, b0);             \
    put((g) + (ld), a1);          \
    put((g) + (ld) + 4, b1);      \
    put((g) + 2 * (ld), a2);      \
    put((g) + 2 * (ld) + 4, b2);  \
    put((g) + 3 * (ld), a3);      \
    put((g) + 3 * (ld) + 4, b3);  \
  } while (0)

/*
 * Per neuron i < nn and row r < n:
 *   z[r][c] = sum_{k < len} u[r][k] * w[k][c]   for c < cp (cp a multiple of 8),
 * with u = U + i*uis (row stride us), w = Wm + i*len*cp ([len][cp]), z = Z + i*zis (row stride zs).
 */
static NOINLINE void matvec_impl(const float* U, int us, int uis, const float* Wm, int len, int cp, float* Z, int zs,
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
          BLOCK_4x8_MADD(u0[k], u1[k], u2[k], u3[k], w0, w1);
        }
        BLOCK_4x8_PUT(wasm_v128_store, z + (long)r * zs + c, zs);
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
static NOINLINE void outer_acc_impl(const float* X, const float* Y, double* G, int n, int cols, int lenp) {
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
          BLOCK_4x8_MADD(x[0], x[1], x[2], x[3], y0, y1);
        }
        BLOCK_4x8_PUT(add4_f64, G + (long)c * lenp + k, lenp);
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

/* zz[c] = bias[c] (+ ext[c]) + z[c] for c < n, in f64 (ext: the input neurons' embedding term, or 0). */
static inline void preact_f64(double* zz, const float* bias, const float* ext, const float* z, int n) {
  if (ext != 0) {
    for (int c = 0; c < n; c++) zz[c] = ((double)bias[c] + (double)ext[c]) + (double)z[c];
  } else {
    for (int c = 0; c < n; c++) zz[c] = (double)bias[c] + (double)z[c];
  }
}

/*
 * A neuron's slot backward for one row: given x (the gradient at its output, q values), routing
 * weights ao [M] and slot outputs yo [M][q], f [C] receives the pre-activation gradients: slot
 * part f[s*q+j] = alpha_s x_j (1 - y_sj^2), routing part f[Mq+s] = alpha_s (<x, y_s> -
 * sum_r alpha_r <x, y_r>) / sqrt(D). Shared by BPTT (coreBackward.c) and eq. 3 (coreEstimator.c).
 */
static inline void slot_backward(const double* x, double* f, const float* ao, const float* yo, int M, int q,
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

/* One forward step of n rows (coreForward.c; also the core of a rollout step, rollout.c). */
__attribute__((visibility("hidden"))) NOINLINE void forward_step(
    int n, int W, int q, int P, int M, int Ni, const int* parentIdx, const float* hPrev, const float* keep,
    const float* ext, int extStride, const float* bias, const float* wPad, int cp, double invSqrtD, float* u,
    float* z, float* y, float* alpha, float* h, double* zz);

#endif
