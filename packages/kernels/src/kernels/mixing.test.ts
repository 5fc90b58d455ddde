import fc from "fast-check";
import { afterAll, describe, it } from "vitest";
import { disposeKernelThreads } from "../runtime.js";
import { expectClose, mixCase, runMix, substitute } from "./feedforwardTestBlock.js";

afterAll(() => disposeKernelThreads());

describe("gradient mixing (mixing.c)", () => {
  it("ff_mix equals a float64 loop of Definition 1 (both substitutes, residual or not)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 1 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 9999 }),
        (n, w, q, mode, residual, seed) => {
          const c = mixCase(seed, { n, w, m: 2, q, d: 3 }, mode, residual);
          const r = runMix(c, false, 1e-8);
          const mixed = new Float64Array(n * w * q);
          const sums = new Float64Array(2 * w);
          for (let i = 0; i < w; i++) {
            const th = c.theta[i] as number;
            for (let s = 0; s < n; s++) {
              const sub = substitute(c, s, i);
              for (let j = 0; j < q; j++) {
                const o = (s * w + i) * q + j;
                const g = c.g[o] as number;
                mixed[o] = th * g + (1 - th) * (sub[j] as number);
                sums[2 * i] = (sums[2 * i] as number) + g * g;
                sums[2 * i + 1] = (sums[2 * i + 1] as number) + (sub[j] as number) ** 2;
              }
            }
          }
          expectClose(r.f32("MIXED", n * w * q), mixed, 2e-6, "mixed");
          expectClose(r.f64("SUMS", 2 * w), sums, 2e-6, "sums of g^2 and s^2");
        },
      ),
      { numRuns: 80 },
    );
  });
});
