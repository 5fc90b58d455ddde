/*
 * The adaptive mixing weight's batch estimate (eq. 3, SPEC 4.5) for one neuron of a feed-forward
 * SparseNet layer, from closed forms of the per-sample parameter gradients. Parameter block:
 * feedforward.h.
 */
#include "feedforward.h"

static inline float hsum(v4 a) {
  return (wasm_f32x4_extract_lane(a, 0) + wasm_f32x4_extract_lane(a, 1)) +
         (wasm_f32x4_extract_lane(a, 2) + wasm_f32x4_extract_lane(a, 3));
}

/*
 * eq. 3 for neuron i (SPEC 4.5), from the received gradients g and substitutes s of all samples
 * (already multiplied by 1 - tanh(out)^2 for residual layers): per-sample closed forms of the
 * inner products, the batch means of the A and key gradients as outer products with u.
 *
 * Per sample, the slot-map part (t = alpha_s (1 - y^2) g per entry) runs four entries per vector
 * over the flattened M q entries, with alpha and the unit-length g and s - g tiled to that layout
 * (padding lanes are zero, so they add nothing). Per-sample sums are float32; the sums over
 * samples are float64 (the per-entry sums of t, float32 over at most a batch).
 */
float estimate_theta(const int* prm, int i, const float* gs, const float* ss, float* scr, float prev) {
  const int N = prm[FB_N], W = prm[FB_W], M = prm[FB_M], Q = prm[FB_Q], D = prm[FB_D];
  const int MQ = M * Q, K = M + MQ, MQ4 = (MQ + 3) & ~3;
  const float *U = PTR(const float, FB_U), *AL = PTR(const float, FB_ALPHA), *Y = PTR(const float, FB_Y);
  const float eps = *PTR(const float, FB_FLOAT_ARG);
  const float inv_sqrt_d = 1.f / __builtin_sqrtf((float)D);
  float* both = scr;                          /* [N][2K]: Gw then Gd per sample */
  float* o = both + (long)N * 2 * K + 4;      /* [2K][D] (4 floats of slack before: tail stores) */
  float* sumTw = o + ((2 * K * D + 3) & ~3);  /* [MQ4] */
  float* sumTd = sumTw + MQ4;                 /* [MQ4] */
  float* ax = sumTd + MQ4;                    /* [MQ4] alpha tiled */
  float* gx = ax + MQ4;                       /* [MQ4] unit g tiled */
  float* dx = gx + MQ4;                       /* [MQ4] unit s minus unit g, tiled */
  float* yb = dx + MQ4;                       /* [MQ4] y of this sample, zero-padded */
  float* eyw = yb + MQ4;                      /* [M] <unit g, y_s> */
  float* eyd = eyw + M + 4;                   /* [M] <unit s - unit g, y_s> */
  for (int e = 0; e < MQ4; e++) sumTw[e] = sumTd[e] = ax[e] = gx[e] = dx[e] = yb[e] = 0.f;
  double meanDD = 0.0, meanWD = 0.0;
  for (int n = 0; n < N; n++) {
    const long ni = (long)n * W + i;
    const float* g = gs + (long)n * Q;
    const float* s = ss + (long)n * Q;
    float gn = 0.f, sn = 0.f;
    for (int j = 0; j < Q; j++) {
      gn += g[j] * g[j];
      sn += s[j] * s[j];
    }
    const float gsc = 1.f / (__builtin_sqrtf(gn) > 1e-12f ? __builtin_sqrtf(gn) : 1e-12f);
    const float ssc = 1.f / (__builtin_sqrtf(sn) > 1e-12f ? __builtin_sqrtf(sn) : 1e-12f);
    const float* al = AL + ni * M;
    const float* y = Y + ni * MQ;
    float* bw = both + (long)n * 2 * K;
    float* bd = bw + K;
    /* <g, y_s> and <s - g, y_s> per slot, with the tiled copies for the vector loop. */
    float mw = 0.f, md = 0.f;
    for (int sl = 0; sl < M; sl++) {
      float ew = 0.f, ed = 0.f;
      for (int j = 0; j < Q; j++) {
        const float gh = g[j] * gsc, dh = s[j] * ssc - gh;
        const float yv = y[sl * Q + j];
        ew += gh * yv;
        ed += dh * yv;
        ax[sl * Q + j] = al[sl];
        gx[sl * Q + j] = gh;
        dx[sl * Q + j] = dh;
        yb[sl * Q + j] = yv;
      }
      eyw[sl] = ew;
      eyd[sl] = ed;
      mw += al[sl] * ew;
      md += al[sl] * ed;
    }
    /* Slot-map part, four entries per vector. The last vector of a row may store up to 3 floats
     * past its M q entries: into the next row's key entries, which are written after it (the key
     * part below, or the next sample's), or for the last sample into the slack before o. */
    v4 twtd = wasm_f32x4_splat(0.f), tdtd = twtd;
    const v4 one = wasm_f32x4_splat(1.f);
    for (int e = 0; e < MQ4; e += 4) {
      const v4 yv = wasm_v128_load(yb + e);
      const v4 c = wasm_f32x4_mul(wasm_v128_load(ax + e), wasm_f32x4_sub(one, wasm_f32x4_mul(yv, yv)));
      const v4 tw = wasm_f32x4_mul(c, wasm_v128_load(gx + e));
      const v4 td = wasm_f32x4_mul(c, wasm_v128_load(dx + e));
      wasm_v128_store(bw + M + e, tw);
      wasm_v128_store(bd + M + e, td);
      twtd = madd(twtd, tw, td);
      tdtd = madd(tdtd, td, td);
      wasm_v128_store(sumTw + e, wasm_f32x4_add(wasm_v128_load(sumTw + e), tw));
      wasm_v128_store(sumTd + e, wasm_f32x4_add(wasm_v128_load(sumTd + e), td));
    }
    /* Key part: dq_s = alpha_s (<g, y_s> - sum_r alpha_r <g, y_r>) / sqrt(D). */
    float gwGd = 0.f, gdGd = 0.f;
    for (int sl = 0; sl < M; sl++) {
      const float kw = al[sl] * (eyw[sl] - mw) * inv_sqrt_d;
      const float kd = al[sl] * (eyd[sl] - md) * inv_sqrt_d;
      bw[sl] = kw;
      bd[sl] = kd;
      gwGd += kw * kd;
      gdGd += kd * kd;
    }
    const float twTd = hsum(twtd), tdTd = hsum(tdtd);
    const float* u = U + ni * D;
    v4 uu4 = wasm_f32x4_splat(0.f);
    int d = 0;
    for (; d + 4 <= D; d += 4) {
      const v4 x = wasm_v128_load(u + d);
      uu4 = madd(uu4, x, x);
    }
    float uu = hsum(uu4);
    for (; d < D; d++) uu += u[d] * u[d];
    meanDD += ((double)gdGd + tdTd) * uu + tdTd;
    meanWD += ((double)gwGd + twTd) * uu + twTd;
  }
  outer_rows(both, 2 * K, U + (long)i * D, (long)W * D, N, 2 * K, D, o);
  /* ||mean Gd||^2 and <mean Gw, mean Gd>: sums of products of the batch sums (float64, two
     lanes at a time), divided by N^2 once. */
  const long kd = (long)K * D;
  const float* ow = o;
  const float* od = o + kd;
  v128_t sdd = wasm_f64x2_splat(0.0), swd = sdd;
  long e = 0;
  for (; e + 4 <= kd; e += 4) {
    const v4 w4 = wasm_v128_load(ow + e), d4 = wasm_v128_load(od + e);
    const v128_t wl = wasm_f64x2_promote_low_f32x4(w4), dl = wasm_f64x2_promote_low_f32x4(d4);
    const v128_t wh = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(w4, w4, 2, 3, 0, 1));
    const v128_t dh = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(d4, d4, 2, 3, 0, 1));
    sdd = wasm_f64x2_add(sdd, wasm_f64x2_add(wasm_f64x2_mul(dl, dl), wasm_f64x2_mul(dh, dh)));
    swd = wasm_f64x2_add(swd, wasm_f64x2_add(wasm_f64x2_mul(wl, dl), wasm_f64x2_mul(wh, dh)));
  }
  double ssd = wasm_f64x2_extract_lane(sdd, 0) + wasm_f64x2_extract_lane(sdd, 1);
  double ssw = wasm_f64x2_extract_lane(swd, 0) + wasm_f64x2_extract_lane(swd, 1);
  for (; e < kd; e++) {
    ssd += (double)od[e] * od[e];
    ssw += (double)ow[e] * od[e];
  }
  for (int j = 0; j < MQ; j++) {
    ssd += (double)sumTd[j] * sumTd[j];
    ssw += (double)sumTw[j] * sumTd[j];
  }
  const double dbarSq = ssd / ((double)N * N), wdbar = ssw / ((double)N * N);
  const double v0 = (meanDD / N - dbarSq) / (N - 1);
  const double v = v0 > 0.0 ? v0 : 0.0;
  const double c = (meanWD / N - wdbar) / (N - 1);
  const double b2 = dbarSq - v > 0.0 ? dbarSq - v : 0.0;
  const double denom = v + b2;
  if (!(denom > eps)) return prev;
  const double t = 1.0 + c / denom;
  return (float)(t < 0.0 ? 0.0 : t > 1.0 ? 1.0 : t);
}
