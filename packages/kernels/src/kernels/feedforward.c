/*
 * Training kernels of the feed-forward SparseNet (SPEC 4.1, 4.2): the neuron layer's forward pass
 * with everything the backward pass needs, the backward pass through a layer, the scatter to the
 * parents, and the SG-phase regression gradients. The mixing rule is in mixing.c, the eq. 3
 * estimator in thetaEstimator.c.
 *
 * The host (src/models/sparseNetNative.ts) keeps every array in the shared memory and calls these
 * per layer. Each function takes the parameter block of feedforward.h and a range [lo, hi) of
 * samples or of neurons, as its comment says; every output element is written by one thread with
 * a fixed summation order, so results do not depend on the split. `slot` (0 or 1, passed by the
 * runtime after hi) picks the calling thread's scratch area.
 */
#include "feedforward.h"

/*
 * Forward pass of one layer for samples [lo, hi): gathers u (pixels for layer 0, the parents'
 * states above), contracts it with the packed [keys | pad | A | sgA] columns, and stores alpha,
 * the slot outputs y = tanh(A u + b), h (tanh(out) + h_prev for residual layers, with tanh(out)
 * kept), and with SG the slot maps Atilde u + btilde and the prediction hhat.
 */
EXPORT void ff_forward(const int* prm, int lo, int hi, int slot) {
  const int W = prm[FB_W], M = prm[FB_M], Q = prm[FB_Q], P = prm[FB_P], D = prm[FB_D], kp = prm[FB_KP];
  const int MQ = M * Q, WQ = W * Q, ka = (M + 3) & ~3, res = prm[FB_RESIDUAL], sg = prm[FB_WITH_SG];
  const float* src = PTR(const float, FB_SRC);
  const int* idx = PTR(const int, FB_IDX);
  const float* wp = PTR(const float, FB_WP);
  const float* bias = PTR(const float, FB_B);
  const float* sgb = PTR(const float, FB_SGB);
  float *U = PTR(float, FB_U), *AL = PTR(float, FB_ALPHA), *Y = PTR(float, FB_Y), *H = PTR(float, FB_H);
  float *T = PTR(float, FB_TANH), *SL = PTR(float, FB_SGLIN), *SP = PTR(float, FB_SGPRED);
  float* zb = scratch_slot(prm, slot); /* [4][kp] */
  float* yb = zb + 4 * kp;           /* [MQ + 4] */
  float* ob = yb + MQ + 4;           /* [Q + 4] outputs, then [4] softmax sums */
  const float inv_sqrt_d = 1.f / __builtin_sqrtf((float)D);
  for (int n0 = lo; n0 < hi; n0 += 4) {
    const int nb = hi - n0 < 4 ? hi - n0 : 4;
    for (int i = 0; i < W; i++) {
      for (int r = 0; r < nb; r++) {
        const int n = n0 + r;
        float* u = U + ((long)n * W + i) * D;
        if (prm[FB_LAYER0]) {
          const float* xs = src + (long)n * prm[FB_XDIM];
          const int* fi = idx + (long)i * D;
          for (int d = 0; d < D; d++) u[d] = xs[fi[d]];
        } else {
          const float* hs = src + (long)n * WQ;
          const int* pi = idx + (long)i * P;
          for (int p = 0; p < P; p++)
            for (int j = 0; j < Q; j++) u[p * Q + j] = hs[pi[p] * Q + j];
        }
      }
      mv_rows(U + ((long)n0 * W + i) * D, (long)W * D, wp + (long)i * D * kp, D, kp, zb, kp, nb, kp);
      /* Routing softmax with the four samples of the block in the four lanes (rows past nb
         hold stale values that are computed and never stored). */
      const v4 scale = wasm_f32x4_splat(inv_sqrt_d);
      v4 mx = wasm_f32x4_splat(-3.4e38f), sum = wasm_f32x4_splat(0.f);
      for (int s = 0; s < M; s++) {
        const v4 zs = wasm_f32x4_make(zb[s], zb[kp + s], zb[2 * kp + s], zb[3 * kp + s]);
        mx = wasm_f32x4_max(mx, wasm_f32x4_mul(zs, scale));
      }
      for (int s = 0; s < M; s++) {
        const v4 zs = wasm_f32x4_make(zb[s], zb[kp + s], zb[2 * kp + s], zb[3 * kp + s]);
        const v4 e = exp4(wasm_f32x4_sub(wasm_f32x4_mul(zs, scale), mx));
        sum = wasm_f32x4_add(sum, e);
        zb[s] = wasm_f32x4_extract_lane(e, 0);
        zb[kp + s] = wasm_f32x4_extract_lane(e, 1);
        zb[2 * kp + s] = wasm_f32x4_extract_lane(e, 2);
        zb[3 * kp + s] = wasm_f32x4_extract_lane(e, 3);
      }
      wasm_v128_store(ob + Q + 4, sum);
      for (int r = 0; r < nb; r++) {
        const long ni = (long)(n0 + r) * W + i;
        const float* z = zb + r * kp;
        float* al = AL + ni * M;
        const float total = ob[Q + 4 + r];
        for (int s = 0; s < M; s++) al[s] = z[s] / total;
        const float* bi = bias + (long)i * MQ;
        for (int j = 0; j < MQ; j++) yb[j] = z[ka + j] + bi[j];
        tanh_inplace(yb, MQ);
        float* y = Y + ni * MQ;
        for (int j = 0; j < MQ; j++) y[j] = yb[j];
        for (int j = 0; j < Q; j++) ob[j] = 0.f;
        for (int s = 0; s < M; s++)
          for (int j = 0; j < Q; j++) ob[j] += al[s] * yb[s * Q + j];
        float* h = H + ni * Q;
        if (res) {
          tanh_inplace(ob, Q);
          const float* hp = src + ni * Q;
          float* t = T + ni * Q;
          for (int j = 0; j < Q; j++) {
            t[j] = ob[j];
            h[j] = ob[j] + hp[j];
          }
        } else {
          for (int j = 0; j < Q; j++) h[j] = ob[j];
        }
        if (sg) {
          const float* sbi = sgb + (long)i * MQ;
          float* sl = SL + ni * MQ;
          float* sp = SP + ni * Q;
          for (int j = 0; j < MQ; j++) sl[j] = z[ka + MQ + j] + sbi[j];
          for (int j = 0; j < Q; j++) sp[j] = 0.f;
          for (int s = 0; s < M; s++)
            for (int j = 0; j < Q; j++) sp[j] += al[s] * sl[s * Q + j];
        }
      }
    }
  }
}

/* SG slot maps and prediction of samples [lo, hi) from the stored u and alpha, with the SG
 * weights packed alone (after an SG update the policy part of the trace is still valid). */
EXPORT void ff_sg_refresh(const int* prm, int lo, int hi) {
  const int W = prm[FB_W], M = prm[FB_M], Q = prm[FB_Q], D = prm[FB_D], kps = prm[FB_KPS];
  const int MQ = M * Q;
  const float* wsg = PTR(const float, FB_WSG);
  const float* sgb = PTR(const float, FB_SGB);
  const float *U = PTR(const float, FB_U), *AL = PTR(const float, FB_ALPHA);
  float *SL = PTR(float, FB_SGLIN), *SP = PTR(float, FB_SGPRED);
  for (int i = 0; i < W; i++) {
    mv_rows(U + ((long)lo * W + i) * D, (long)W * D, wsg + (long)i * D * kps, D, kps,
            SL + ((long)lo * W + i) * MQ, (long)W * MQ, hi - lo, MQ);
    for (int n = lo; n < hi; n++) {
      const long ni = (long)n * W + i;
      float* sl = SL + ni * MQ;
      const float* al = AL + ni * M;
      const float* sbi = sgb + (long)i * MQ;
      float* sp = SP + ni * Q;
      for (int j = 0; j < MQ; j++) sl[j] += sbi[j];
      for (int j = 0; j < Q; j++) sp[j] = 0.f;
      for (int s = 0; s < M; s++)
        for (int j = 0; j < Q; j++) sp[j] += al[s] * sl[s * Q + j];
    }
  }
}

/*
 * Backward pass through one layer for neurons [lo, hi), for the gradient G at its output:
 * dz = [d(key logits) / sqrt(D) | d(pre-activations)] per sample, the bias gradient, with
 * NEED_PARAMS the [keys | A] gradient as the sum of outer products dz u^T, and with NEED_DU the
 * gradient at the neuron inputs, du = dz [keys; A].
 */
EXPORT void ff_backward(const int* prm, int lo, int hi, int slot) {
  const int N = prm[FB_N], W = prm[FB_W], M = prm[FB_M], Q = prm[FB_Q], D = prm[FB_D], dp = prm[FB_DP];
  const int MQ = M * Q, K = M + MQ;
  const float *G = PTR(const float, FB_G), *AL = PTR(const float, FB_ALPHA), *Y = PTR(const float, FB_Y);
  const float *T = PTR(const float, FB_TANH), *U = PTR(const float, FB_U), *wcat = PTR(const float, FB_WCAT);
  float *DZ = PTR(float, FB_DZ), *DB = PTR(float, FB_DB);
  const float inv_sqrt_d = 1.f / __builtin_sqrtf((float)D);
  float* scr = scratch_slot(prm, slot);
  float* dout = scr;     /* [Q] */
  float* dal = scr + Q;  /* [M] */
  for (int i = lo; i < hi; i++) {
    float* db = DB + (long)i * MQ;
    for (int j = 0; j < MQ; j++) db[j] = 0.f;
    for (int n = 0; n < N; n++) {
      const long ni = (long)n * W + i;
      const float* g = G + ni * Q;
      for (int j = 0; j < Q; j++) dout[j] = prm[FB_RESIDUAL] ? g[j] * (1.f - T[ni * Q + j] * T[ni * Q + j]) : g[j];
      const float* al = AL + ni * M;
      const float* y = Y + ni * MQ;
      float* dz = DZ + ni * K;
      float mean = 0.f;
      for (int s = 0; s < M; s++) {
        float a = 0.f;
        for (int j = 0; j < Q; j++) {
          const float yv = y[s * Q + j];
          a += dout[j] * yv;
          const float dpre = al[s] * dout[j] * (1.f - yv * yv);
          dz[M + s * Q + j] = dpre;
          db[s * Q + j] += dpre;
        }
        dal[s] = a;
        mean += al[s] * a;
      }
      for (int s = 0; s < M; s++) dz[s] = al[s] * (dal[s] - mean) * inv_sqrt_d;
    }
    if (prm[FB_NEED_PARAMS])
      outer_rows(DZ + (long)i * K, (long)W * K, U + (long)i * D, (long)W * D, N, K, D,
                 PTR(float, FB_DW) + (long)i * K * D);
    if (prm[FB_NEED_DU])
      mv_rows(DZ + (long)i * K, (long)W * K, wcat + (long)i * K * dp, K, dp, PTR(float, FB_DU) + (long)i * D,
              (long)W * D, N, D);
  }
}

/* Gradient at the previous layer's output for samples [lo, hi): the parents' shares of du,
 * summed over the neurons in order, plus the skip connection's G for residual layers. */
EXPORT void ff_scatter(const int* prm, int lo, int hi) {
  const int W = prm[FB_W], Q = prm[FB_Q], P = prm[FB_P], D = prm[FB_D];
  const float *DU = PTR(const float, FB_DU), *G = PTR(const float, FB_G);
  const int* parents = PTR(const int, FB_IDX);
  float* out = PTR(float, FB_DHPREV);
  for (int n = lo; n < hi; n++) {
    float* o = out + (long)n * W * Q;
    for (int e = 0; e < W * Q; e++) o[e] = 0.f;
    for (int i = 0; i < W; i++) {
      const float* du = DU + ((long)n * W + i) * D;
      const int* pi = parents + (long)i * P;
      for (int p = 0; p < P; p++)
        for (int j = 0; j < Q; j++) o[pi[p] * Q + j] += du[p * Q + j];
    }
    if (prm[FB_RESIDUAL]) {
      const float* g = G + (long)n * W * Q;
      for (int e = 0; e < W * Q; e++) o[e] += g[e];
    }
  }
}

/* Pack [keys; A] of neurons [lo, hi) for ff_backward's du: rows are the K = M + M q
 * contracted entries, dp >= D columns (keys [W][M][D] and A [W][M q][D] in canonical layout). */
EXPORT void ff_pack_wcat(const float* keys, const float* A, float* dst, int W, int M, int MQ, int D,
                         int dp, int lo, int hi) {
  for (int i = lo; i < hi; i++) {
    float* di = dst + (long)i * (M + MQ) * dp;
    for (int k = 0; k < M; k++)
      for (int d = 0; d < D; d++) di[k * dp + d] = keys[((long)i * M + k) * D + d];
    for (int k = 0; k < MQ; k++)
      for (int d = 0; d < D; d++) di[(M + k) * dp + d] = A[((long)i * MQ + k) * D + d];
  }
}

/*
 * SG-phase regression of one layer for neurons [lo, hi): the squared error of hhat against the
 * target (float64 sum per neuron), and the gradients for Atilde and btilde of the loss whose
 * gradient with respect to hhat is FLOAT_ARG * (hhat - target); the routing keys stay frozen.
 */
EXPORT void ff_sg_grad(const int* prm, int lo, int hi, int slot) {
  const int N = prm[FB_N], W = prm[FB_W], M = prm[FB_M], Q = prm[FB_Q], D = prm[FB_D];
  const int MQ = M * Q;
  const float *SP = PTR(const float, FB_SGPRED), *TG = PTR(const float, FB_TARGET);
  const float *AL = PTR(const float, FB_ALPHA), *U = PTR(const float, FB_U);
  const float c = *PTR(const float, FB_FLOAT_ARG);
  double* loss = PTR(double, FB_SGLOSS);
  float* dlin = scratch_slot(prm, slot); /* [N][MQ] */
  for (int i = lo; i < hi; i++) {
    double l2 = 0.0;
    float* dsgb = PTR(float, FB_DSGB) + (long)i * MQ;
    for (int j = 0; j < MQ; j++) dsgb[j] = 0.f;
    for (int n = 0; n < N; n++) {
      const long ni = (long)n * W + i;
      const float* al = AL + ni * M;
      float* dl = dlin + (long)n * MQ;
      for (int j = 0; j < Q; j++) {
        const float diff = SP[ni * Q + j] - TG[ni * Q + j];
        l2 += (double)diff * diff;
        const float dpred = diff * c;
        for (int s = 0; s < M; s++) dl[s * Q + j] = al[s] * dpred;
      }
      for (int j = 0; j < MQ; j++) dsgb[j] += dl[j];
    }
    loss[i] = l2;
    outer_rows(dlin, MQ, U + (long)i * D, (long)W * D, N, MQ, D, PTR(float, FB_DSGA) + (long)i * MQ * D);
  }
}
