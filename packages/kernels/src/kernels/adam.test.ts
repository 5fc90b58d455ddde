import { Rng } from "@sgprop/gym";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { disposeKernelThreads, kernelRuntime, transientLayout } from "../runtime.js";
import { onOneThread, withKernelHelper } from "../threads.js";
import { adamConstants, adamStep } from "./adam.js";

afterAll(() => disposeKernelThreads());

/** Runs `steps` Adam steps on the kernels; returns [p, m, v]. */
function kernelAdam(p0: Float32Array, grads: Float32Array[], lr: number): Float32Array[] {
  const n = p0.length;
  const rt = kernelRuntime();
  const { offsets, total } = transientLayout([7, n, n, n, n]);
  const [hp, p, g, m, v] = offsets as [number, number, number, number, number];
  let heap = rt.heap(total);
  heap.set(p0, p);
  heap.fill(0, m, m + n);
  heap.fill(0, v, v + n);
  grads.forEach((gr, k) => {
    heap = rt.heap(total);
    heap.set(adamConstants({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8, learningRate: lr, step: k + 1 }), hp);
    heap.set(gr, g);
    adamStep(hp, p, g, m, v, n);
  });
  heap = rt.heap(total);
  return [heap.slice(p, p + n), heap.slice(m, m + n), heap.slice(v, v + n)];
}

describe("Adam (adam.c)", () => {
  it("equals a float64 loop of torch.optim.Adam to float32 rounding", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 999 }),
        (n, steps, seed) => {
          const rng = Rng.fromSeed(seed);
          const p0 = Float32Array.from({ length: n }, () => rng.normal());
          const grads = Array.from({ length: steps }, () =>
            Float32Array.from({ length: n }, () => rng.normal()),
          );
          const lr = 1e-3;
          const [p] = kernelAdam(p0, grads, lr) as [Float32Array];
          for (let i = 0; i < n; i++) {
            let [x, m, v] = [p0[i] as number, 0, 0];
            grads.forEach((gr, k) => {
              const g = gr[i] as number;
              m = 0.9 * m + 0.1 * g;
              v = 0.999 * v + 0.001 * g * g;
              const mHat = m / (1 - 0.9 ** (k + 1));
              const vHat = v / (1 - 0.999 ** (k + 1));
              x -= (lr * mHat) / (Math.sqrt(vHat) + 1e-8);
            });
            // Each step moves a parameter by about lr; float32 rounding of p dominates the error.
            expect(Math.abs((p[i] as number) - x)).toBeLessThan(1e-6 * Math.max(1, Math.abs(x)) + 1e-6 * lr);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("gives bit-identical results on one and two threads", async () => {
    const rng = Rng.fromSeed(3);
    const n = 100_003; // above the two-thread threshold, not a multiple of 4
    const p0 = Float32Array.from({ length: n }, () => rng.normal());
    const grads = [0, 1, 2].map(() => Float32Array.from({ length: n }, () => rng.normal()));
    const one = onOneThread(() => kernelAdam(p0, grads, 1e-2));
    const two = await withKernelHelper(() => kernelAdam(p0, grads, 1e-2));
    for (let j = 0; j < 3; j++) expect(two[j]).toEqual(one[j]);
  });
});
