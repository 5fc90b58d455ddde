/*
 * Per-neuron contractions of the SparseNet models as WebAssembly SIMD kernels.
 *
 * Every neuron i owns a small dense matrix and the N samples share nothing but the sample axis,
 * so the work is W independent small GEMMs. tfjs-wasm runs these through generic batched kernels
 * at 3-6 GFLOP/s; register-blocked f32x4 loops reach 20+ GFLOP/s on one core. Every entry point
 * takes a neuron range [lo, hi) so that threads sharing one memory can split the neurons: each
 * output element is written by exactly one thread and summed in the same order whatever the
 * split, so results do not depend on the number of threads or on which thread took which range.
 *
 * No function uses the shadow stack or static data: instances on several threads share the
 * linear memory and nothing else.
 *
 * Build: bash scripts/build.sh (clang with the wasm32 target; see the package README).
 */
#include "simd.h"

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
  for (int i = lo; i < hi; i++)
    mv_rows(u + (long)i * D, (long)W * D, wp + (long)i * D * kp, D, kp, z + (long)i * K, (long)W * K, N, K);
}

/*
 * o[i][k][d] = sum_n a[n][i][k] * u[n][i][d] with a [N, W, K], u [N, W, D], o [W, K, D] (a
 * per-neuron weight gradient). Blocks of 4 rows x 12 columns; the sum runs over n in order.
 * Reads up to 11 floats past the end of u: the caller leaves that much slack after it.
 */
EXPORT void pn_outer(const float* a, const float* u, float* o, int N, int W, int K, int D, int lo,
                     int hi) {
  for (int i = lo; i < hi; i++)
    outer_rows(a + (long)i * K, (long)W * K, u + (long)i * D, (long)W * D, N, K, D, o + (long)i * K * D);
}

/* ---- Forward-only evaluation of the feed-forward SparseNet (SPEC 4.2) ---- */

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
 * layer read them. Threads take ranges of samples; `slot` (0 or 1) picks the calling thread's
 * scratch area, so at most two threads may run at once.
 */
#define CHUNK 128
EXPORT void pn_forward(const int* prm, int lo, int hi, int slot) {
  const int W = prm[F_W], M = prm[F_M], Q = prm[F_Q], P = prm[F_P], D = prm[F_D], L = prm[F_L];
  const int X = prm[F_X], residual = prm[F_RESIDUAL], kp = prm[F_KP];
  const int MQ = M * Q, WQ = W * Q;
  const float* x = (const float*)prm[F_INPUT];
  float* hout = (float*)prm[F_HOUT];
  float* htmp = (float*)prm[F_HTMP];
  const int* first = (const int*)prm[F_FIRST_IDX];
  const int* parents = (const int*)prm[F_PARENT_IDX];
  float* scratch = (float*)prm[F_SCRATCH] + (slot == 0 ? 0 : prm[F_SCRATCH_FLOATS]);
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
          /* Contraction: 4 samples x kp columns (padding rows repeat a real sample). */
          mv_rows(ub, ud, wi, D, kp, zb, kp, 4, kp);
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
              tanh_inplace(o, Q);
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

/* ---- Dense layers (the MLP baseline's backward pass) ---- */

/* o[k][d] = sum_n a[n][k] u[n][d] for output rows k in [lo, hi): a [N][K], u [N][D], o [K][D]. */
EXPORT void pn_dense_outer(const float* a, const float* u, float* o, int N, int K, int D, int lo, int hi) {
  outer_rows(a + lo, K, u, D, N, hi - lo, D, o + (long)lo * D);
}

/*
 * z[n][k] = sum_d u[n][d] w[d][k] for samples n in [lo, hi): u [N][D], w [D][K] row-major, z [N][K].
 * The kernel reads w in blocks of 12 columns, past the end of a row into the next one (those
 * lanes are never stored); the caller leaves slack after w.
 */
EXPORT void pn_dense_mv(const float* u, const float* w, float* z, int N, int D, int K, int lo, int hi) {
  mv_panels(u + (long)lo * D, D, w, D, K, z + (long)lo * K, K, hi - lo, K);
}

/* dst[d][k] = w[k][d] for rows d in [lo, hi): w [K][D] -> dst [D][K] (a dense layer's W^T). */
EXPORT void pn_dense_transpose(const float* w, float* dst, int K, int D, int lo, int hi) {
  for (int d0 = lo; d0 < hi; d0 += 8) {
    const int d1 = d0 + 8 < hi ? d0 + 8 : hi;
    for (int k = 0; k < K; k++)
      for (int d = d0; d < d1; d++) dst[(long)d * K + k] = w[(long)k * D + d];
  }
}

/*
 * A dense tanh layer for samples [lo, hi): a[n][k] = tanh(sum_d u[n][d] wt[d][k] + b[k]) with
 * wt = W^T [D][K] (pn_dense_transpose); the caller leaves slack after wt.
 */
EXPORT void pn_dense_tanh(const float* u, const float* wt, const float* b, float* a, int N, int D, int K,
                          int lo, int hi) {
  mv_panels(u + (long)lo * D, D, wt, D, K, a + (long)lo * K, K, hi - lo, K);
  for (int n = lo; n < hi; n++) {
    float* r = a + (long)n * K;
    int k = 0;
    for (; k + 4 <= K; k += 4)
      wasm_v128_store(r + k, tanh4(wasm_f32x4_add(wasm_v128_load(r + k), wasm_v128_load(b + k))));
    for (; k < K; k++) r[k] = wasm_f32x4_extract_lane(tanh4(wasm_f32x4_splat(r[k] + b[k])), 0);
  }
}
