/*
 * The recurrent SparseNet's neuron core, forward: one step of n rows, and the SG predictions of
 * n rows (wrapper: coreForward.ts; host side: @sgprop/agents recurrent/sparseCore.ts).
 */
#include "core.h"


/*
 * One step for n rows: gathers the parent inputs u [n][W][Pq] from hPrev [n][W][q] (a row
 * multiplied by keep[b]), z = u wPad [n][W][cp], then per neuron the pre-activations
 * bias (+ ext for input neurons; row b of ext at b*extStride, [Ni][C]), slot outputs y = tanh,
 * routing alpha = softmax(scores / sqrt(D)) and the new state h = sum_s alpha_s y_s.
 */
NOINLINE void forward_step(int n, int W, int q, int P, int M, int Ni, const int* parentIdx,
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
      preact_f64(zz, bi, i < Ni ? ext + (long)b * extStride + (long)i * C : 0, zp, C);
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
static NOINLINE void predictions(int n, int W, int q, int P, int M, int Ni, const float* u, const float* alpha,
                        const float* sgExt, int extStride, const float* sgBias, const float* wPad, int cp,
                        float* z, float* out, double* zz) {
  int Pq = P * q, Mq = M * q;
  matvec_impl(u, W * Pq, Pq, wPad, Pq, cp, z, W * cp, cp, n, W);
  for (int l = 0; l < n; l++) {
    for (int i = 0; i < W; i++) {
      long o = (long)l * W + i;
      const float* zp = z + o * cp;
      const float* bi = sgBias + (long)i * Mq;
      preact_f64(zz, bi, i < Ni ? sgExt + (long)l * extStride + (long)i * Mq : 0, zp, Mq);
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

/* Rows of a forward step: the task arguments are forward_step's, in order. */
CORE_HALVES(forward_step, {
    forward_step(ARG_I(p, 0), ARG_I(p, 1), ARG_I(p, 2), ARG_I(p, 3), ARG_I(p, 4), ARG_I(p, 5),
                 ARG_PTR(const int, p, 6), ARG_PTR(const float, p, 7), ARG_PTR(const float, p, 8),
                 ARG_PTR(const float, p, 9), ARG_I(p, 10), ARG_PTR(const float, p, 11),
                 ARG_PTR(const float, p, 12), ARG_I(p, 13), ARG_F64(p, 14), ARG_PTR(float, p, 15),
                 ARG_PTR(float, p, 16), ARG_PTR(float, p, 17), ARG_PTR(float, p, 18),
                 ARG_PTR(float, p, 19), ARG_PTR(double, p, 20));
})

/*
 * Halves of the SG predictions: predictions' arguments, then withEmb, the embedding rows [n][ep],
 * ep, the embedding maps [E][extStride], E and chunkRows. The half's rows run in chunks of
 * chunkRows, so that the pre-activations z [chunkRows][W][cp] stay in cache between the
 * contraction and the mixture; with embedding rows the input neurons' term emb sgEmb is formed
 * per chunk into sgExt [chunkRows][extStride], else sgExt holds the half's rows.
 */
CORE_HALVES(predictions, {
    const int n = ARG_I(p, 0), W = ARG_I(p, 1), q = ARG_I(p, 2), P = ARG_I(p, 3), M = ARG_I(p, 4);
    const int extStride = ARG_I(p, 9), withEmb = ARG_I(p, 16), ep = ARG_I(p, 18), chunk = ARG_I(p, 21);
    const float* u = ARG_PTR(const float, p, 6);
    const float* alpha = ARG_PTR(const float, p, 7);
    float* ext = ARG_PTR(float, p, 8);
    const float* emb = ARG_PTR(const float, p, 17);
    float* out = ARG_PTR(float, p, 14);
    for (int c0 = 0; c0 < n; c0 += chunk) {
      const int m = n - c0 < chunk ? n - c0 : chunk;
      if (withEmb)
        matvec_impl(emb + (long)c0 * ep, ep, 0, ARG_PTR(const float, p, 19), ARG_I(p, 20), extStride, ext,
                    extStride, 0, m, 1);
      predictions(m, W, q, P, M, ARG_I(p, 5), u + (long)c0 * W * P * q, alpha + (long)c0 * W * M,
                  withEmb ? ext : ext + (long)c0 * extStride, extStride, ARG_PTR(const float, p, 10),
                  ARG_PTR(const float, p, 11), ARG_I(p, 12), ARG_PTR(float, p, 13), out + (long)c0 * W * q,
                  ARG_PTR(double, p, 15));
    }
})
