/*
 * One Adam step (torch.optim.Adam, single-tensor path) over elements [lo, hi) of one parameter,
 * with the moments kept in the kernels' memory. The operations and their order are those of the
 * tfjs formulation in src/optim/adam.ts, in float32, so both give the same bits:
 *   m <- m b1 + g (1 - b1),  v <- v b2 + g^2 (1 - b2),
 *   p <- p - (m / (sqrt(v) / sqrt(1 - b2^k) + eps)) (lr / (1 - b1^k)).
 * hp holds the float32 constants [b1, 1 - b1, b2, 1 - b2, sqrt(1 - b2^k), eps, lr / (1 - b1^k)].
 */
#include "simd.h"

EXPORT void adam_step(const float* hp, float* p, const float* g, float* m, float* v, int lo, int hi) {
  const float b1 = hp[0], c1 = hp[1], b2 = hp[2], c2 = hp[3], sb = hp[4], eps = hp[5], step = hp[6];
  int i = lo;
  for (; i < hi && (i & 3); i++) {
    const float mn = m[i] * b1 + g[i] * c1;
    const float vn = v[i] * b2 + (g[i] * g[i]) * c2;
    p[i] = p[i] - (mn / (__builtin_sqrtf(vn) / sb + eps)) * step;
    m[i] = mn;
    v[i] = vn;
  }
  const v4 B1 = wasm_f32x4_splat(b1), C1 = wasm_f32x4_splat(c1), B2 = wasm_f32x4_splat(b2);
  const v4 C2 = wasm_f32x4_splat(c2), SB = wasm_f32x4_splat(sb), EPS = wasm_f32x4_splat(eps);
  const v4 STEP = wasm_f32x4_splat(step);
  for (; i + 4 <= hi; i += 4) {
    const v4 gi = wasm_v128_load(g + i);
    const v4 mn = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(m + i), B1), wasm_f32x4_mul(gi, C1));
    const v4 vn = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(v + i), B2),
                                 wasm_f32x4_mul(wasm_f32x4_mul(gi, gi), C2));
    const v4 den = wasm_f32x4_add(wasm_f32x4_div(wasm_f32x4_sqrt(vn), SB), EPS);
    const v4 upd = wasm_f32x4_mul(wasm_f32x4_div(mn, den), STEP);
    wasm_v128_store(p + i, wasm_f32x4_sub(wasm_v128_load(p + i), upd));
    wasm_v128_store(m + i, mn);
    wasm_v128_store(v + i, vn);
  }
  for (; i < hi; i++) {
    const float mn = m[i] * b1 + g[i] * c1;
    const float vn = v[i] * b2 + (g[i] * g[i]) * c2;
    p[i] = p[i] - (mn / (__builtin_sqrtf(vn) / sb + eps)) * step;
    m[i] = mn;
    v[i] = vn;
  }
}
