/*
 * A rollout step of the recurrent SparseNet: observation embedding and actor (wrapper: rollout.ts;
 * host side: @sgprop/agents recurrent/rolloutCore.ts).
 */
#include "core.h"


/*
 * The observation embedding of n rows: out = LeakyReLU(LayerNorm(obs W1^T + b1) W2^T + b2), with
 * w1 = W1^T as [O][e1p], w2 = W2^T as [E1][ep], x1 [n][e1p] scratch, out [n][ep]. LayerNorm has no
 * affine part and uses the population variance.
 */
static NOINLINE void embed_rows(int n, int O, int E1, int E, const float* obs, const float* w1, int e1p,
                       const float* b1, const float* w2, int ep, const float* b2, float* x1, float* out,
                       double lnEps, double slope) {
  matvec_impl(obs, O, 0, w1, O, e1p, x1, e1p, 0, n, 1);
  for (int r = 0; r < n; r++) {
    float* x = x1 + (long)r * e1p;
    double mean = 0;
    for (int c = 0; c < E1; c++) {
      x[c] = (float)((double)x[c] + (double)b1[c]);
      mean += x[c];
    }
    mean /= E1;
    double var = 0;
    for (int c = 0; c < E1; c++) {
      double d = (double)x[c] - mean;
      var += d * d;
    }
    var /= E1;
    double inv = 1.0 / __builtin_sqrt(var + lnEps);
    for (int c = 0; c < E1; c++) x[c] = (float)(((double)x[c] - mean) * inv);
  }
  matvec_impl(x1, e1p, 0, w2, E1, ep, out, ep, 0, n, 1);
  for (int r = 0; r < n; r++) {
    float* o = out + (long)r * ep;
    for (int c = 0; c < E; c++) {
      double v = (double)o[c] + (double)b2[c];
      o[c] = (float)(v < 0 ? slope * v : v);
    }
  }
}

/*
 * Slot-mixture actor logits of n rows of flattened states f [n][F]: with z = f w ([F][cp], columns
 * a*S+s the keys, A*S + a*S+s the value maps), beta_{a,s} = softmax_s(z_key / sqrt(F)),
 * logit_a = sum_s beta_{a,s} (z_value + bAct[a*S+s]). z [n][cp] scratch, logits [n][A].
 */
static NOINLINE void actor_logits(int n, int F, int A, int S, const float* f, const float* w, int cp,
                         const float* bAct, double invSqrtF, float* z, float* logits) {
  matvec_impl(f, F, 0, w, F, cp, z, cp, 0, n, 1);
  for (int r = 0; r < n; r++) {
    const float* zr = z + (long)r * cp;
    for (int a = 0; a < A; a++) {
      double mx = -__builtin_inf();
      for (int s = 0; s < S; s++) mx = max_js(mx, (double)zr[a * S + s] * invSqrtF);
      double total = 0, acc = 0;
      for (int s = 0; s < S; s++) {
        double e = exp_nonpos((double)zr[a * S + s] * invSqrtF - mx);
        total += e;
        acc += e * ((double)zr[A * S + a * S + s] + (double)bAct[a * S + s]);
      }
      logits[(long)r * A + a] = (float)(acc / total);
    }
  }
}

/*
 * Halves of a rollout step's envs (rolloutCore.ts): embed_rows' arguments (0-14), the input
 * neurons' embedding maps [E][ncp], ncp and their term ext [n][ncp] (15-17), forward_step's other
 * arguments (18-35: W q P M Ni parentIdx hPrev keep bias wPad cp invSqrtD u z y alpha h zz), then
 * actor_logits' (36-44: F A S w cp bAct invSqrtF z logits; its input is the new state h).
 */
CORE_HALVES(rollout, {
    const int n = ARG_I(p, 0), E = ARG_I(p, 3), ep = ARG_I(p, 9), ncp = ARG_I(p, 16);
    float* emb = ARG_PTR(float, p, 12);
    float* ext = ARG_PTR(float, p, 17);
    float* h = ARG_PTR(float, p, 34);
    embed_rows(n, ARG_I(p, 1), ARG_I(p, 2), E, ARG_PTR(const float, p, 4), ARG_PTR(const float, p, 5),
               ARG_I(p, 6), ARG_PTR(const float, p, 7), ARG_PTR(const float, p, 8), ep,
               ARG_PTR(const float, p, 10), ARG_PTR(float, p, 11), emb, ARG_F64(p, 13), ARG_F64(p, 14));
    matvec_impl(emb, ep, 0, ARG_PTR(const float, p, 15), E, ncp, ext, ncp, 0, n, 1);
    forward_step(n, ARG_I(p, 18), ARG_I(p, 19), ARG_I(p, 20), ARG_I(p, 21), ARG_I(p, 22),
                 ARG_PTR(const int, p, 23), ARG_PTR(const float, p, 24), ARG_PTR(const float, p, 25), ext, ncp,
                 ARG_PTR(const float, p, 26), ARG_PTR(const float, p, 27), ARG_I(p, 28), ARG_F64(p, 29),
                 ARG_PTR(float, p, 30), ARG_PTR(float, p, 31), ARG_PTR(float, p, 32), ARG_PTR(float, p, 33), h,
                 ARG_PTR(double, p, 35));
    actor_logits(n, ARG_I(p, 36), ARG_I(p, 37), ARG_I(p, 38), h, ARG_PTR(const float, p, 39), ARG_I(p, 40),
                 ARG_PTR(const float, p, 41), ARG_F64(p, 42), ARG_PTR(float, p, 43), ARG_PTR(float, p, 44));
})
