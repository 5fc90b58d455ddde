/*
 * The recurrent SparseNet's eq. 3 sums (wrapper: coreEstimator.ts; host side: @sgprop/agents
 * recurrent/coreSums.ts).
 */
#include "core.h"


/*
 * Eq. 3 sums over n rows (local layout) for every neuron: sums[i] += (sum ||d||^2, sum <w, d>)
 * ([W][2]), tw/td[i] += summed b-parts, gw/gd[i] ([C][cp], f64, overwritten) = sum x u^T for
 * x = w, d. The input neurons' embedding part: their factors [n][Ni][C] (xwIn, xdIn scratch) times
 * the embeddings emb [n][ep] give gwEmb/gdEmb ([Ni*C][ep], f64, overwritten) = sum x e^T, and
 * ||e||^2 joins their ||u||^2.
 */
static NOINLINE void estimator(int n, int W, int q, int P, int M, int Ni, const float* g, const float* sub,
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
      slot_backward(gh, fw, ao, yo, M, q, invSqrtD);
      slot_backward(sh, fs, ao, yo, M, q, invSqrtD);
      const float* uo = uPar + o * Pq;
      double uSq = i < Ni ? embSq[l] : 0;
      for (int k = 0; k < Pq; k++) {
        double uv = uo[k];
        uSq += uv * uv;
      }
      double dd = 0, wd = 0, ddB = 0, wdB = 0;
      float* xwl = xw + (long)l * C;
      float* xdl = xd + (long)l * C;
      for (int c = 0; c < C; c++) {
        double w = fw[c];
        double d = fs[c] - w;
        xwl[c] = (float)w;
        xdl[c] = (float)d;
        dd += d * d;
        wd += w * d;
        if (c < Mq) {
          ddB += d * d;
          wdB += w * d;
          tw[(long)i * Mq + c] += w;
          td[(long)i * Mq + c] += d;
        }
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

/* Halves of the eq. 3 sums: the task arguments are estimator's, in order. */
CORE_HALVES(estimator, {
    estimator(ARG_I(p, 0), ARG_I(p, 1), ARG_I(p, 2), ARG_I(p, 3), ARG_I(p, 4), ARG_I(p, 5),
              ARG_PTR(const float, p, 6), ARG_PTR(const float, p, 7), ARG_PTR(const float, p, 8),
              ARG_PTR(const float, p, 9), ARG_PTR(const float, p, 10), ARG_PTR(const float, p, 11),
              ARG_I(p, 12), ARG_I(p, 13), ARG_F64(p, 14), ARG_I(p, 15), ARG_PTR(float, p, 16),
              ARG_PTR(float, p, 17), ARG_PTR(float, p, 18), ARG_PTR(double, p, 19),
              ARG_PTR(double, p, 20), ARG_PTR(double, p, 21), ARG_PTR(double, p, 22),
              ARG_PTR(double, p, 23), ARG_PTR(float, p, 24), ARG_PTR(float, p, 25),
              ARG_PTR(double, p, 26), ARG_PTR(double, p, 27), ARG_PTR(double, p, 28));
})
