/*
 * The two contractions of the recurrent SparseNet's neuron core as WebAssembly SIMD kernels
 * (see ../wasmCore.ts for how they are used, and build.sh to rebuild coreKernelsWasm.ts).
 *
 * Every neuron multiplies short vectors (length P*q or M*q+M) by its own small matrix, for every
 * row (time step x environment). Scalar JavaScript loops reach ~1 GFLOP/s on these; f32x4 loops
 * with a block of accumulators in registers several times that. The kernels work in the calling
 * thread's own linear memory; they use no stack and no static data.
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
EXPORT void matvec(const float* U, int us, int uis, const float* Wm, int len, int cp, float* Z, int zs,
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
EXPORT void outer_acc(const float* X, const float* Y, double* G, int n, int cols, int lenp) {
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
