/*
 * The recurrent SparseNet's neuron core, backward through time (wrapper: coreBackward.ts; host
 * side: @sgprop/agents recurrent/coreBackward.ts).
 */
#include "core.h"


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
static NOINLINE void backward(int T, int nb, int W, int q, int P, int M, int Ni, const int* parentIdx,
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
        slot_backward(mixed, dzc, ao, yo, M, q, invSqrtD);
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

/* Halves of the backward pass: the task arguments are backward's, in order. */
CORE_HALVES(backward, {
    backward(ARG_I(p, 0), ARG_I(p, 1), ARG_I(p, 2), ARG_I(p, 3), ARG_I(p, 4), ARG_I(p, 5), ARG_I(p, 6),
             ARG_PTR(const int, p, 7), ARG_PTR(const float, p, 8), ARG_PTR(const float, p, 9),
             ARG_PTR(const float, p, 10), ARG_PTR(const float, p, 11), ARG_PTR(const float, p, 12),
             ARG_PTR(const float, p, 13), ARG_PTR(const double, p, 14), ARG_I(p, 15), ARG_I(p, 16),
             ARG_F64(p, 17), ARG_PTR(const float, p, 18), ARG_I(p, 19), ARG_I(p, 20),
             ARG_PTR(float, p, 21), ARG_PTR(float, p, 22), ARG_PTR(float, p, 23), ARG_PTR(float, p, 24),
             ARG_PTR(float, p, 25), ARG_PTR(float, p, 26), ARG_PTR(double, p, 27),
             ARG_PTR(double, p, 28), ARG_PTR(double, p, 29), ARG_PTR(double, p, 30),
             ARG_PTR(float, p, 31), ARG_PTR(double, p, 32), ARG_I(p, 33), ARG_PTR(const float, p, 34),
             ARG_I(p, 35), ARG_PTR(const float, p, 36), ARG_PTR(double, p, 37), ARG_PTR(float, p, 38));
})
