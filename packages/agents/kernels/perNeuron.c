/*
 * Per-neuron contractions of the SparseNet models as WebAssembly SIMD kernels.
 *
 * Every neuron i owns a small dense matrix and the N samples share nothing but the sample axis,
 * so the work is W independent small GEMMs. tfjs-wasm runs these through generic batched kernels
 * at 3-6 GFLOP/s; register-blocked f32x4 loops reach 20+ GFLOP/s on one core. Every entry point
 * takes a neuron range [lo, hi) so that threads sharing one memory can split the neurons: each
 * output element is written by exactly one thread and summed in the same order whatever the
 * split, so results do not depend on the number of threads.
 *
 * No function uses the shadow stack or static data: instances on several threads share the
 * linear memory and nothing else.
 *
 * Build: bash scripts/build-kernels.sh (clang with the wasm32 target; see packages/agents/README.md).
 */
#include <wasm_simd128.h>

#define EXPORT __attribute__((visibility("default")))
typedef v128_t v4;

static inline v4 madd(v4 acc, v4 a, v4 b) { return wasm_f32x4_add(acc, wasm_f32x4_mul(a, b)); }

/* Stores the first n (0..4) lanes of a. */
static inline void store_lanes(float* p, v4 a, int n) {
  if (n >= 4) { wasm_v128_store(p, a); return; }
  if (n > 0) p[0] = wasm_f32x4_extract_lane(a, 0);
  if (n > 1) p[1] = wasm_f32x4_extract_lane(a, 1);
  if (n > 2) p[2] = wasm_f32x4_extract_lane(a, 2);
}

/* Stores the first n (0..12) of the 12 values held in a0 a1 a2. */
static inline void store12(float* p, v4 a0, v4 a1, v4 a2, int n) {
  store_lanes(p, a0, n);
  store_lanes(p + 4, a1, n - 4);
  store_lanes(p + 8, a2, n - 8);
}

/*
 * Packs w for matvec: dst[i][d][koff + k] = w[i][d][k] (transposed = 0, w is [W, D, K]) or
 * w[i][k][d] (transposed = 1, w is [W, K, D]). dst rows have kp entries (kp a multiple of 12);
 * entries past the packed columns are never read into stored results, so they need no zeroing.
 */
EXPORT void pn_pack(const float* w, float* dst, int W, int D, int K, int kp, int koff, int transposed,
                    int lo, int hi) {
  for (int i = lo; i < hi; i++) {
    const float* wi = w + (long)i * D * K;
    float* di = dst + (long)i * D * kp + koff;
    if (transposed) {
      for (int k = 0; k < K; k++)
        for (int d = 0; d < D; d++) di[d * kp + k] = wi[k * D + d];
    } else {
      for (int d = 0; d < D; d++)
        for (int k = 0; k < K; k++) di[d * kp + k] = wi[d * K + k];
    }
  }
}

/*
 * z[n][i][k] = sum_d u[n][i][d] * wp[i][d][k] for k < K, with u [N, W, D], wp packed by pn_pack
 * ([W, D, kp]) and z [N, W, K]. Blocks of 4 samples x 12 outputs keep 12 accumulators in registers.
 */
EXPORT void pn_matvec(const float* u, const float* wp, float* z, int N, int W, int D, int K, int kp,
                      int lo, int hi) {
  const long us = (long)W * D, zs = (long)W * K;
  for (int i = lo; i < hi; i++) {
    const float* wi = wp + (long)i * D * kp;
    int n = 0;
    /* Samples outermost: four input rows stay in L1 while every column block passes over them. */
    for (; n + 4 <= N; n += 4) {
      const float* u0 = u + n * us + (long)i * D;
      const float* u1 = u0 + us;
      const float* u2 = u1 + us;
      const float* u3 = u2 + us;
      for (int k = 0; k < K; k += 12) {
        v4 a00 = wasm_f32x4_splat(0.f), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00;
        v4 a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
        const float* wr = wi + k;
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
        float* z0 = z + n * zs + (long)i * K + k;
        store12(z0, a00, a01, a02, nk);
        store12(z0 + zs, a10, a11, a12, nk);
        store12(z0 + 2 * zs, a20, a21, a22, nk);
        store12(z0 + 3 * zs, a30, a31, a32, nk);
      }
    }
    for (; n < N; n++) {
      const float* u0 = u + n * us + (long)i * D;
      for (int k = 0; k < K; k += 12) {
        v4 a0 = wasm_f32x4_splat(0.f), a1 = a0, a2 = a0;
        const float* wr = wi + k;
        for (int d = 0; d < D; d++, wr += kp) {
          const v4 b = wasm_f32x4_splat(u0[d]);
          a0 = madd(a0, b, wasm_v128_load(wr));
          a1 = madd(a1, b, wasm_v128_load(wr + 4));
          a2 = madd(a2, b, wasm_v128_load(wr + 8));
        }
        store12(z + n * zs + (long)i * K + k, a0, a1, a2, K - k);
      }
    }
  }
}

/*
 * o[i][k][d] = sum_n a[n][i][k] * u[n][i][d] with a [N, W, K], u [N, W, D], o [W, K, D] (a
 * per-neuron weight gradient). Blocks of 4 rows x 12 columns; the sum runs over n in order.
 * Reads up to 11 floats past the end of u: the caller leaves that much slack after it.
 */
EXPORT void pn_outer(const float* a, const float* u, float* o, int N, int W, int K, int D, int lo,
                     int hi) {
  const long as = (long)W * K, us = (long)W * D;
  for (int i = lo; i < hi; i++) {
    const float* ai = a + (long)i * K;
    const float* ui = u + (long)i * D;
    float* oi = o + (long)i * K * D;
    for (int d = 0; d < D; d += 12) {
      const int nd = D - d;
      int k = 0;
      for (; k + 4 <= K; k += 4) {
        v4 c00 = wasm_f32x4_splat(0.f), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
        v4 c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
        const float* ar = ai + k;
        const float* ur = ui + d;
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
        float* o0 = oi + (long)k * D + d;
        store12(o0, c00, c01, c02, nd);
        store12(o0 + D, c10, c11, c12, nd);
        store12(o0 + 2 * D, c20, c21, c22, nd);
        store12(o0 + 3 * D, c30, c31, c32, nd);
      }
      for (; k < K; k++) {
        v4 c0 = wasm_f32x4_splat(0.f), c1 = c0, c2 = c0;
        const float* ar = ai + k;
        const float* ur = ui + d;
        for (int n = 0; n < N; n++, ar += as, ur += us) {
          const v4 b = wasm_f32x4_splat(ar[0]);
          c0 = madd(c0, b, wasm_v128_load(ur));
          c1 = madd(c1, b, wasm_v128_load(ur + 4));
          c2 = madd(c2, b, wasm_v128_load(ur + 8));
        }
        store12(oi + (long)k * D + d, c0, c1, c2, nd);
      }
    }
  }
}

/* ---- Forward-only evaluation of the feed-forward SparseNet (SPEC 4.2) ---- */

/*
 * exp(x) on four lanes: x = n ln2 + r with |r| <= ln2/2, exp(r) by a degree-7 Taylor-type
 * polynomial (Cephes-style coefficients), 2^n through the exponent bits. Relative error about
 * 2e-7 on [-87, 88]; inputs are clamped to that range, so the result is finite and positive.
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

/* tanh over n floats in place; rounds n up to a multiple of 4 (the caller pads). */
EXPORT void pn_tanh(float* x, int n) {
  for (int j = 0; j < n; j += 4) wasm_v128_store(x + j, tanh4(wasm_v128_load(x + j)));
}

/*
 * The parameter block of pn_forward (int32 words): sizes, then byte offsets into memory.
 */
enum {
  F_W, F_M, F_Q, F_P, F_D, F_L, F_X, F_RESIDUAL, F_KP,
  F_INPUT, F_HOUT, F_HTMP, F_FIRST_IDX, F_PARENT_IDX, F_SCRATCH, F_SCRATCH_FLOATS,
  /* L offsets of packed [W][D][kp] weights: columns [keys (M, scaled by 1/sqrt(D)) | padding to a
     multiple of 4 | A (M q)] */
  F_WEIGHTS,
  /* then L offsets of the slot biases [W][M q] */
};

/*
 * Hidden state of the last layer, h [N][W q], for contexts [N][X], for samples [lo, hi). Samples
 * are processed in chunks so that a chunk's hidden states stay in cache while all neurons of a
 * layer read them. Threads split the samples; each uses the scratch slot of its half
 * (lo == 0: first slot), so at most two threads may run at once.
 */
#define CHUNK 128
EXPORT void pn_forward(const int* prm, int lo, int hi) {
  const int W = prm[F_W], M = prm[F_M], Q = prm[F_Q], P = prm[F_P], D = prm[F_D], L = prm[F_L];
  const int X = prm[F_X], residual = prm[F_RESIDUAL], kp = prm[F_KP];
  const int MQ = M * Q, WQ = W * Q;
  const float* x = (const float*)prm[F_INPUT];
  float* hout = (float*)prm[F_HOUT];
  float* htmp = (float*)prm[F_HTMP];
  const int* first = (const int*)prm[F_FIRST_IDX];
  const int* parents = (const int*)prm[F_PARENT_IDX];
  float* scratch = (float*)prm[F_SCRATCH] + (lo == 0 ? 0 : prm[F_SCRATCH_FLOATS]);
  float* ub = scratch;                 /* [4][D + 12] gathered inputs */
  const int ud = D + 12;
  float* zb = ub + 4 * ud;             /* [4][kp] pre-activations */
  float* ob = zb + 4 * kp;             /* [4][Q + 4] layer outputs before the residual tanh */
  const int od = Q + 4;
  float* ivb = ob + 4 * od;            /* [4] inverse softmax denominators */
  const int ka = (M + 3) & ~3;         /* first slot-map column */
  for (int c0 = lo; c0 < hi; c0 += CHUNK) {
    const int c1 = c0 + CHUNK < hi ? c0 + CHUNK : hi;
    for (int l = 0; l < L; l++) {
      float* dst = ((L - 1 - l) % 2 == 0) ? hout : htmp;
      const float* src = l == 0 ? x : (((L - l) % 2 == 0) ? hout : htmp);
      const float* wl = (const float*)prm[F_WEIGHTS + l];
      const float* bl = (const float*)prm[F_WEIGHTS + L + l];
      for (int i = 0; i < W; i++) {
        const float* wi = wl + (long)i * D * kp;
        const float* bi = bl + (long)i * MQ;
        for (int n = c0; n < c1; n += 4) {
          const int nb = c1 - n < 4 ? c1 - n : 4;
          /* Gather: pixels for layer 0, the parents' q-vectors above it. */
          for (int r = 0; r < 4; r++) {
            const int s = r < nb ? n + r : n; /* padding rows repeat a real sample */
            float* u = ub + r * ud;
            if (l == 0) {
              const float* xs = x + (long)s * X;
              const int* fi = first + (long)i * D;
              for (int d = 0; d < D; d++) u[d] = xs[fi[d]];
            } else {
              const float* hs = src + (long)s * WQ;
              const int* pi = parents + ((long)(l - 1) * W + i) * P;
              for (int p = 0; p < P; p++) {
                const float* hp = hs + pi[p] * Q;
                for (int j = 0; j < Q; j++) u[p * Q + j] = hp[j];
              }
            }
          }
          /* Contraction: 4 samples x kp columns. */
          for (int k = 0; k < kp; k += 12) {
            v4 a00 = wasm_f32x4_splat(0.f), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00;
            v4 a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
            const float* wr = wi + k;
            const float *u0 = ub, *u1 = ub + ud, *u2 = ub + 2 * ud, *u3 = ub + 3 * ud;
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
            float* z = zb + k;
            wasm_v128_store(z, a00); wasm_v128_store(z + 4, a01); wasm_v128_store(z + 8, a02);
            z += kp;
            wasm_v128_store(z, a10); wasm_v128_store(z + 4, a11); wasm_v128_store(z + 8, a12);
            z += kp;
            wasm_v128_store(z, a20); wasm_v128_store(z + 4, a21); wasm_v128_store(z + 8, a22);
            z += kp;
            wasm_v128_store(z, a30); wasm_v128_store(z + 4, a31); wasm_v128_store(z + 8, a32);
          }
          /* Routing weights over the slots, four samples per vector. */
          v4 mx = wasm_f32x4_splat(-3.4e38f);
          for (int s = 0; s < M; s++) {
            const v4 zs = wasm_f32x4_make(zb[s], zb[kp + s], zb[2 * kp + s], zb[3 * kp + s]);
            mx = wasm_f32x4_max(mx, zs);
          }
          v4 sum = wasm_f32x4_splat(0.f);
          for (int s = 0; s < M; s++) {
            const v4 zs = wasm_f32x4_make(zb[s], zb[kp + s], zb[2 * kp + s], zb[3 * kp + s]);
            const v4 e = exp4(wasm_f32x4_sub(zs, mx));
            sum = wasm_f32x4_add(sum, e);
            zb[s] = wasm_f32x4_extract_lane(e, 0);
            zb[kp + s] = wasm_f32x4_extract_lane(e, 1);
            zb[2 * kp + s] = wasm_f32x4_extract_lane(e, 2);
            zb[3 * kp + s] = wasm_f32x4_extract_lane(e, 3);
          }
          wasm_v128_store(ivb, wasm_f32x4_div(wasm_f32x4_splat(1.f), sum));
          for (int r = 0; r < nb; r++) {
            float* z = zb + r * kp;
            /* Slot outputs tanh(A u + b), in place; the last vector may run into padding columns. */
            float* y = z + ka;
            for (int j = 0; j < MQ; j += 4)
              wasm_v128_store(y + j, tanh4(wasm_f32x4_add(wasm_v128_load(y + j), wasm_v128_load(bi + j))));
            float* o = ob + r * od;
            for (int j = 0; j < Q; j++) o[j] = 0.f;
            for (int s = 0; s < M; s++) {
              const float a = z[s] * ivb[r];
              for (int j = 0; j < Q; j++) o[j] += a * y[s * Q + j];
            }
            float* h = dst + (long)(n + r) * WQ + (long)i * Q;
            if (residual && l > 0) {
              pn_tanh(o, Q);
              const float* hp = src + (long)(n + r) * WQ + (long)i * Q;
              for (int j = 0; j < Q; j++) h[j] = o[j] + hp[j];
            } else {
              for (int j = 0; j < Q; j++) h[j] = o[j];
            }
          }
        }
      }
    }
  }
}
