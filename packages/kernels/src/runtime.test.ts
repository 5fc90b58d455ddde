import { Rng } from "@sgprop/gym";
import { afterAll, describe, expect, it } from "vitest";
import { simdMatVecs } from "./kernels/perNeuron.js";
import { disposeKernelThreads, kernelRuntime } from "./runtime.js";
import { onOneThread, withKernelHelper } from "./threads.js";

afterAll(() => disposeKernelThreads());

function randomArray(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

describe("kernel thread hand-off", () => {
  it("a kernel that traps throws, and later calls still give the one-thread numbers", async () => {
    const [n, nw, d, k] = [64, 40, 50, 55];
    const rng = Rng.fromSeed(11);
    const u = randomArray(rng, n * nw * d);
    const w = randomArray(rng, nw * k * d);
    const call = () => simdMatVecs(u, n, nw, d, [{ data: w, k, transposed: true }])[0];
    const single = onOneThread(call);
    await withKernelHelper(call);
    const outside = 2 ** 31 - 64; // a byte offset past the end of the kernels' memory
    expect(() =>
      kernelRuntime().run("pn_matvec", [outside, outside, outside, n, nw, d, k, 60], nw, 1e9),
    ).toThrow();
    expect(await withKernelHelper(call)).toEqual(single);
  });

  it("never sleeps through the helper's completion (a lost wake-up cost the 1 s wait timeout)", async () => {
    const [n, nw, d, k] = [16, 64, 50, 8]; // just above the two-thread threshold: many hand-offs
    const u = new Float32Array(n * nw * d).fill(0.25);
    const w = new Float32Array(nw * k * d).fill(0.5);
    const call = () => simdMatVecs(u, n, nw, d, [{ data: w, k, transposed: true }]);
    await withKernelHelper(call);
    let worst = 0;
    for (let i = 0; i < 2000; i++) {
      const t0 = performance.now();
      call();
      worst = Math.max(worst, performance.now() - t0);
    }
    expect(worst).toBeLessThan(500);
  });

  it("started calls finish in any order, with synchronous calls in between, on the one-thread numbers", async () => {
    const rng = Rng.fromSeed(5);
    const [n, nw, d, k] = [48, 32, 40, 36];
    const rt = kernelRuntime();
    const u = randomArray(rng, n * nw * d);
    const w = randomArray(rng, nw * d * k);
    // Three independent matvecs on blocks of their own, started before any is finished.
    const blocks = [0, 1, 2].map(() => ({
      u: rt.alloc(u.length),
      w: rt.alloc(w.length),
      z: rt.alloc(n * nw * k),
    }));
    const heap = rt.heap(0);
    for (const b of blocks) {
      heap.set(u, b.u);
      heap.set(w, b.w);
    }
    const args = (b: (typeof blocks)[number]) => [b.u * 4, b.w * 4, b.z * 4, n, nw, d, k, k];
    const want = onOneThread(() => simdMatVecs(u, n, nw, d, [{ data: w, k, transposed: false }])[0]);
    // pn_matvec reads packed weights with rows of kp = k entries: k must be a multiple of 12.
    expect(k % 12).toBe(0);
    const results = await withKernelHelper(() => {
      const pending = blocks.map((b) => rt.start("pn_matvec", args(b), nw, { chunk: 4, parallel: true }));
      (pending[2] as { finish(): void }).finish();
      simdMatVecs(u, n, nw, d, [{ data: w, k, transposed: false }]);
      (pending[0] as { finish(): void }).finish();
      (pending[1] as { finish(): void }).finish();
      return blocks.map((b) => rt.heap(0).slice(b.z, b.z + n * nw * k));
    });
    for (const r of results) expect(r).toEqual(want);
    for (const b of blocks) for (const o of [b.u, b.w, b.z]) rt.free(o);
  });
});
