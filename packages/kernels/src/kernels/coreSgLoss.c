/*
 * The recurrent SparseNet's SG regression loss and its gradient (wrapper: coreSgLoss.ts; host
 * side: @sgprop/agents recurrent/coreSums.ts).
 */
#include "core.h"


/*
 * SG loss sums over n rows (local layout): loss[0] += sum ||pred - mixed||^2, and with
 * dz[l][s*q+j] = alpha_s 2 (pred - mixed)_j / denom: dsgBias[i] += sum_l dz_l, dzIn [n][Ni][Mq]
 * (input neurons), dsgPar[i] ([Pq][cp], f64, overwritten) = sum_l u_l dz_l^T; with withEmb also
 * dsgEmb ([Ni*Mq][ep], f64, overwritten) = sum_l dzIn_l e_l^T for the embedding rows emb [n][ep].
 */
static NOINLINE void sg_loss(int n, int W, int q, int P, int M, int Ni, const float* pred, const float* mixed,
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

/* Halves of the SG loss: the task arguments are sg_loss's, in order. */
CORE_HALVES(sg_loss, {
    sg_loss(ARG_I(p, 0), ARG_I(p, 1), ARG_I(p, 2), ARG_I(p, 3), ARG_I(p, 4), ARG_I(p, 5),
            ARG_PTR(const float, p, 6), ARG_PTR(const float, p, 7), ARG_PTR(const float, p, 8),
            ARG_PTR(const float, p, 9), ARG_F64(p, 10), ARG_I(p, 11), ARG_PTR(float, p, 12),
            ARG_PTR(float, p, 13), ARG_PTR(double, p, 14), ARG_PTR(double, p, 15),
            ARG_PTR(float, p, 16), ARG_PTR(double, p, 17), ARG_I(p, 18), ARG_PTR(const float, p, 19),
            ARG_I(p, 20), ARG_PTR(double, p, 21));
})
