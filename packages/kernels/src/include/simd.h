/*
 * Shared f32x4 helpers and the two per-neuron micro-kernels (a small GEMM with the neuron's own
 * matrix, and a sum of outer products over samples). Every kernel file includes this header; all
 * functions are static inline, so the module has no shadow-stack or static data (threads share
 * the linear memory and nothing else).
 */
#ifndef SGPROP_SIMD_H
#define SGPROP_SIMD_H
#include <wasm_simd128.h>

#define EXPORT __attribute__((visibility("default")))
typedef v128_t v4;

static inline v4 madd(v4 acc, v4 a, v4 b) { return wasm_f32x4_add(acc, wasm_f32x4_mul(a, b)); }

/* Stores the first n lanes of a (n may be <= 0 or >= 4). */
static inline void store_lanes(float* p, v4 a, int n) {
  if (n >= 4) { wasm_v128_store(p, a); return; }
  if (n > 0) p[0] = wasm_f32x4_extract_lane(a, 0);
  if (n > 1) p[1] = wasm_f32x4_extract_lane(a, 1);
  if (n > 2) p[2] = wasm_f32x4_extract_lane(a, 2);
}

/* Stores the first n (up to 12) of the 12 values held in a0 a1 a2. */
static inline void store12(float* p, v4 a0, v4 a1, v4 a2, int n) {
  store_lanes(p, a0, n);
  store_lanes(p + 4, a1, n - 4);
  store_lanes(p + 8, a2, n - 8);
}

/*
 * z[n*zs + k] = sum_d u[n*us + d] * w[d*kp + k] for n < N, k < K, with w packed so that rows have
 * kp entries (kp a multiple of 12, columns past K never stored). Blocks of 4 samples x 12 columns
 * keep 12 accumulators in registers; the sum over d runs in order.
 */
static inline void mv_rows(const float* u, long us, const float* w, int D, int kp, float* z, long zs,
                           int N, int K) {
  int n = 0;
  for (; n + 4 <= N; n += 4) {
    const float* u0 = u + n * us;
    const float* u1 = u0 + us;
    const float* u2 = u1 + us;
    const float* u3 = u2 + us;
    for (int k = 0; k < K; k += 12) {
      v4 a00 = wasm_f32x4_splat(0.f), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00;
      v4 a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
      const float* wr = w + k;
      for (int d = 0; d < D; d++, wr += kp) {
        const v4 w0 = wasm_v128_load(wr), w1 = wasm_v128_load(wr + 4), w2 = wasm_v128_load(wr + 8);
        v4 b = wasm_f32x4_splat(u0[d]);
        a00 = madd(a00, b, w0); a01 = madd(a01, b, w1); a02 = madd(a02, b, w2);
        b = wasm_f32x4_splat(u1[d]);
        a10 = madd(a10, b, w0); a11 = madd(a11, b, w1); a12 = madd(a12, b, w2);
        b = wasm_f32x4_splat(u2[d]);
        a20 = madd(a20, b, w0); a21 = madd(a21, b, w1); a22 = madd(a22, b, w2);
        b = wasm_f32x4_splat(u3[d]);
        a30 = madd(a30, b, w0); a31 = madd(a31, b, w1); a32 = madd(a32, b, w2);
      }
      const int nk = K - k;
      float* z0 = z + n * zs + k;
      store12(z0, a00, a01, a02, nk);
      store12(z0 + zs, a10, a11, a12, nk);
      store12(z0 + 2 * zs, a20, a21, a22, nk);
      store12(z0 + 3 * zs, a30, a31, a32, nk);
    }
  }
  for (; n < N; n++) {
    const float* u0 = u + n * us;
    for (int k = 0; k < K; k += 12) {
      v4 a0 = wasm_f32x4_splat(0.f), a1 = a0, a2 = a0;
      const float* wr = w + k;
      for (int d = 0; d < D; d++, wr += kp) {
        const v4 b = wasm_f32x4_splat(u0[d]);
        a0 = madd(a0, b, wasm_v128_load(wr));
        a1 = madd(a1, b, wasm_v128_load(wr + 4));
        a2 = madd(a2, b, wasm_v128_load(wr + 8));
      }
      store12(z + n * zs + k, a0, a1, a2, K - k);
    }
  }
}

/*
 * mv_rows with the loops swapped for large matrices (dense layers): one 12-column panel of w
 * (D x 12 floats) stays in cache while every sample passes over it. Same sums, same order.
 */
static inline void mv_panels(const float* u, long us, const float* w, int D, int kp, float* z, long zs,
                             int N, int K) {
  for (int k = 0; k < K; k += 12) {
    const int kk = K - k < 12 ? K - k : 12;
    mv_rows(u, us, w + k, D, kp, z + k, zs, N, kk);
  }
}

/*
 * o[k*D + d] = sum_n a[n*as + k] * u[n*us + d] for k < K, d < D (a per-neuron weight gradient).
 * Blocks of 4 rows x 12 columns; the sum runs over n in order. Reads up to 11 floats past the
 * last row of u: callers leave that much slack.
 */
static inline void outer_rows(const float* a, long as, const float* u, long us, int N, int K, int D,
                              float* o) {
  for (int d = 0; d < D; d += 12) {
    const int nd = D - d;
    int k = 0;
    for (; k + 4 <= K; k += 4) {
      v4 c00 = wasm_f32x4_splat(0.f), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
      v4 c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
      const float* ar = a + k;
      const float* ur = u + d;
      for (int n = 0; n < N; n++, ar += as, ur += us) {
        const v4 x0 = wasm_v128_load(ur), x1 = wasm_v128_load(ur + 4), x2 = wasm_v128_load(ur + 8);
        v4 b = wasm_f32x4_splat(ar[0]);
        c00 = madd(c00, b, x0); c01 = madd(c01, b, x1); c02 = madd(c02, b, x2);
        b = wasm_f32x4_splat(ar[1]);
        c10 = madd(c10, b, x0); c11 = madd(c11, b, x1); c12 = madd(c12, b, x2);
        b = wasm_f32x4_splat(ar[2]);
        c20 = madd(c20, b, x0); c21 = madd(c21, b, x1); c22 = madd(c22, b, x2);
        b = wasm_f32x4_splat(ar[3]);
        c30 = madd(c30, b, x0); c31 = madd(c31, b, x1); c32 = madd(c32, b, x2);
      }
      float* o0 = o + (long)k * D + d;
      store12(o0, c00, c01, c02, nd);
      store12(o0 + D, c10, c11, c12, nd);
      store12(o0 + 2 * D, c20, c21, c22, nd);
      store12(o0 + 3 * D, c30, c31, c32, nd);
    }
    for (; k < K; k++) {
      v4 c0 = wasm_f32x4_splat(0.f), c1 = c0, c2 = c0;
      const float* ar = a + k;
      const float* ur = u + d;
      for (int n = 0; n < N; n++, ar += as, ur += us) {
        const v4 b = wasm_f32x4_splat(ar[0]);
        c0 = madd(c0, b, wasm_v128_load(ur));
        c1 = madd(c1, b, wasm_v128_load(ur + 4));
        c2 = madd(c2, b, wasm_v128_load(ur + 8));
      }
      store12(o + (long)k * D + d, c0, c1, c2, nd);
    }
  }
}

/*
 * exp(x) on four lanes: x = n ln2 + r with |r| <= ln2/2, exp(r) by a degree-7 polynomial
 * (Cephes-style coefficients), 2^n through the exponent bits. Relative error about 2e-7 on
 * [-87, 88]; inputs are clamped to that range, so the result is finite and positive.
 */
static inline v4 exp4(v4 x) {
  x = wasm_f32x4_min(wasm_f32x4_max(x, wasm_f32x4_splat(-87.f)), wasm_f32x4_splat(88.f));
  const v4 n = wasm_f32x4_nearest(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)));
  v4 r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(-2.12194440e-4f)));
  v4 p = wasm_f32x4_splat(1.9875691500e-4f);
  p = madd(wasm_f32x4_splat(1.3981999507e-3f), p, r);
  p = madd(wasm_f32x4_splat(8.3334519073e-3f), p, r);
  p = madd(wasm_f32x4_splat(4.1665795894e-2f), p, r);
  p = madd(wasm_f32x4_splat(1.6666665459e-1f), p, r);
  p = madd(wasm_f32x4_splat(5.0000001201e-1f), p, r);
  p = madd(wasm_f32x4_add(r, wasm_f32x4_splat(1.f)), p, wasm_f32x4_mul(r, r));
  const v4 scale = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  return wasm_f32x4_mul(p, scale);
}

/* tanh(x) = 2 / (1 + exp(-2x)) - 1: absolute error below 2e-7, exactly +-1 far out. */
static inline v4 tanh4(v4 x) {
  const v4 e = exp4(wasm_f32x4_mul(x, wasm_f32x4_splat(-2.f)));
  return wasm_f32x4_sub(wasm_f32x4_div(wasm_f32x4_splat(2.f), wasm_f32x4_add(e, wasm_f32x4_splat(1.f))),
                        wasm_f32x4_splat(1.f));
}

/* tanh over n floats in place, four at a time: rounds n up to a multiple of 4 (callers pad). */
static inline void tanh_inplace(float* x, int n) {
  for (int j = 0; j < n; j += 4) wasm_v128_store(x + j, tanh4(wasm_v128_load(x + j)));
}

#endif
