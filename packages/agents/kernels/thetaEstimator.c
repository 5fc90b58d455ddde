/*
 * The adaptive mixing weight's batch estimate (eq. 3, SPEC 4.5) for one neuron of a feed-forward
 * SparseNet layer, from closed forms of the per-sample parameter gradients. Parameter block:
 * feedforward.h.
 */
#include "feedforward.h"

/*
 * eq. 3 for neuron i (SPEC 4.5), from the received gradients g and substitutes s of all samples
 * (already multiplied by 1 - tanh(out)^2 for residual layers): per-sample closed forms of the
 * inner products, the batch means of the A and key gradients as outer products with u.
 */
float estimate_theta(const int* prm, int i, const float* gs, const float* ss, float* scr,
                            float prev) {
  const int N = prm[FB_N], W = prm[FB_W], M = prm[FB_M], Q = prm[FB_Q], D = prm[FB_D];
  const int MQ = M * Q, K = M + MQ;
  const float *U = PTR(const float, FB_U), *AL = PTR(const float, FB_ALPHA), *Y = PTR(const float, FB_Y);
  const float eps = *PTR(const float, FB_FLOAT_ARG);
  const double inv_sqrt_d = 1.0 / __builtin_sqrt((double)D);
  float* both = scr;                    /* [N][2K]: Gw then Gd per sample */
  float* o = both + (long)N * 2 * K;    /* [2K][D] */
  double* acc = (double*)(o + ((2 * K * D + 3) & ~3)); /* sumTw [MQ], sumTd [MQ], gh, dh [Q], eyW, eyD [M] */
  double *sumTw = acc, *sumTd = acc + MQ, *gh = acc + 2 * MQ, *dh = gh + Q, *eyW = dh + Q, *eyD = eyW + M;
  for (int e = 0; e < 2 * MQ; e++) acc[e] = 0.0;
  double meanDD = 0.0, meanWD = 0.0;
  for (int n = 0; n < N; n++) {
    const long ni = (long)n * W + i;
    const float* g = gs + (long)n * Q;
    const float* s = ss + (long)n * Q;
    double gn = 0.0, sn = 0.0;
    for (int j = 0; j < Q; j++) {
      gn += (double)g[j] * g[j];
      sn += (double)s[j] * s[j];
    }
    const double gsc = 1.0 / (__builtin_sqrt(gn) > 1e-12 ? __builtin_sqrt(gn) : 1e-12);
    const double ssc = 1.0 / (__builtin_sqrt(sn) > 1e-12 ? __builtin_sqrt(sn) : 1e-12);
    for (int j = 0; j < Q; j++) {
      gh[j] = g[j] * gsc;
      dh[j] = s[j] * ssc - gh[j];
    }
    const float* al = AL + ni * M;
    const float* y = Y + ni * MQ;
    double mw = 0.0, md = 0.0;
    for (int sl = 0; sl < M; sl++) {
      double ew = 0.0, ed = 0.0;
      for (int j = 0; j < Q; j++) {
        ew += gh[j] * y[sl * Q + j];
        ed += dh[j] * y[sl * Q + j];
      }
      eyW[sl] = ew;
      eyD[sl] = ed;
      mw += al[sl] * ew;
      md += al[sl] * ed;
    }
    const float* u = U + ni * D;
    double uu = 0.0;
    for (int d = 0; d < D; d++) uu += (double)u[d] * u[d];
    double gwGd = 0.0, gdGd = 0.0, twTd = 0.0, tdTd = 0.0;
    float* bw = both + (long)n * 2 * K;
    float* bd = bw + K;
    for (int sl = 0; sl < M; sl++) {
      const double a = al[sl];
      const float kw = (float)(a * (eyW[sl] - mw) * inv_sqrt_d);
      const float kd = (float)(a * (eyD[sl] - md) * inv_sqrt_d);
      bw[sl] = kw;
      bd[sl] = kd;
      gwGd += (double)kw * kd;
      gdGd += (double)kd * kd;
      for (int j = 0; j < Q; j++) {
        const double yv = y[sl * Q + j];
        const double c = a * (1.0 - yv * yv);
        const float tw = (float)(c * gh[j]);
        const float td = (float)(c * dh[j]);
        bw[M + sl * Q + j] = tw;
        bd[M + sl * Q + j] = td;
        twTd += (double)tw * td;
        tdTd += (double)td * td;
        sumTw[sl * Q + j] += tw;
        sumTd[sl * Q + j] += td;
      }
    }
    meanDD += (gdGd + tdTd) * uu + tdTd;
    meanWD += (gwGd + twTd) * uu + twTd;
  }
  outer_rows(both, 2 * K, U + (long)i * D, (long)W * D, N, 2 * K, D, o);
  double dbarSq = 0.0, wdbar = 0.0;
  for (long e = 0; e < (long)K * D; e++) {
    const double wv = (double)o[e] / N;
    const double dv = (double)o[(long)K * D + e] / N;
    dbarSq += dv * dv;
    wdbar += wv * dv;
  }
  for (int e = 0; e < MQ; e++) {
    const double wv = sumTw[e] / N, dv = sumTd[e] / N;
    dbarSq += dv * dv;
    wdbar += wv * dv;
  }
  const double v0 = (meanDD / N - dbarSq) / (N - 1);
  const double v = v0 > 0.0 ? v0 : 0.0;
  const double c = (meanWD / N - wdbar) / (N - 1);
  const double b2 = dbarSq - v > 0.0 ? dbarSq - v : 0.0;
  const double denom = v + b2;
  if (!(denom > eps)) return prev;
  const double t = 1.0 + c / denom;
  return (float)(t < 0.0 ? 0.0 : t > 1.0 ? 1.0 : t);
}

