/*
 * Gradient mixing (Definition 1, SPEC 4.4) at a feed-forward SparseNet layer's output, with the
 * adaptive weight's batch estimate (eq. 3, thetaEstimator.c). Parameter block: feedforward.h.
 */
#include "feedforward.h"

/*
 * Mixing (Definition 1) for neurons [lo, hi): s = hhat or its positive projection, mixed =
 * theta g + (1 - theta) s, the per-neuron sums of g^2 and s^2 (float64), and with ADAPTIVE the
 * eq. 3 estimate thetaBatch (N > 1; the caller handles N = 1).
 */
EXPORT void ff_mix(const int* prm, int lo, int hi, int slot) {
  const int N = prm[FB_N], W = prm[FB_W], Q = prm[FB_Q];
  const float *G = PTR(const float, FB_GTRUE), *SP = PTR(const float, FB_SGPRED), *T = PTR(const float, FB_TANH);
  const float* theta = PTR(const float, FB_THETA);
  float* mixed = PTR(float, FB_MIXED);
  double* sums = PTR(double, FB_SUMS);
  float* scr = scratch_slot(prm, slot);
  float* gs = scr;                  /* [N][Q] scaled g of this neuron */
  float* ss = gs + (long)N * Q + 4; /* [N][Q] scaled s */
  float* est = ss + (long)N * Q + 4;
  for (int i = lo; i < hi; i++) {
    const float th = theta[i];
    double g2 = 0.0, s2 = 0.0;
    for (int n = 0; n < N; n++) {
      const long o = ((long)n * W + i) * Q;
      const float* g = G + o;
      const float* hh = SP + o;
      float scale = 1.f;
      if (prm[FB_MODE] == 1) {
        float dot = 0.f, sq = 0.f;
        for (int j = 0; j < Q; j++) {
          dot += g[j] * hh[j];
          sq += hh[j] * hh[j];
        }
        scale = (dot > 0.f ? dot : 0.f) / (sq > 1e-12f ? sq : 1e-12f);
      }
      for (int j = 0; j < Q; j++) {
        const float s = prm[FB_MODE] == 1 ? scale * hh[j] : hh[j];
        mixed[o + j] = th * g[j] + (1.f - th) * s;
        g2 += (double)g[j] * g[j];
        s2 += (double)s * s;
        const float f = prm[FB_RESIDUAL] ? 1.f - T[o + j] * T[o + j] : 1.f;
        gs[(long)n * Q + j] = prm[FB_RESIDUAL] ? g[j] * f : g[j];
        ss[(long)n * Q + j] = prm[FB_RESIDUAL] ? s * f : s;
      }
    }
    sums[2 * i] = g2;
    sums[2 * i + 1] = s2;
    if (prm[FB_ADAPTIVE]) PTR(float, FB_THETA_BATCH)[i] = estimate_theta(prm, i, gs, ss, est, th);
  }
}

