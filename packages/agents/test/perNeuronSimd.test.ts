import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Rng } from "@sgprop/gym";
import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { FeedforwardSparseNet } from "../src/feedforward/sparsenet.js";
import type { FeedforwardSparseNetConfig } from "../src/feedforward/sparsenetConfig.js";
import { simdForwardHidden, simdMatVecs, simdOuter } from "../src/kernels/perNeuronSimd.js";
import {
  disposeKernelThreads,
  kernelHelperCalls,
  kernelRuntime,
  prewarmKernelThreads,
} from "../src/kernels/runtime.js";
import { maxAbsDiff, useBackend } from "./helpers.js";

function randomArray(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

/** Float64 reference of z[n, i, k] = sum_d u[n, i, d] w[i, d, k] (w [W, K, D] when transposed). */
function naiveMatVec(
  u: Float32Array,
  w: Float32Array,
  n: number,
  nw: number,
  d: number,
  k: number,
  tr: boolean,
) {
  const z = new Float64Array(n * nw * k);
  for (let s = 0; s < n; s++)
    for (let i = 0; i < nw; i++)
      for (let c = 0; c < k; c++) {
        let acc = 0;
        for (let e = 0; e < d; e++) {
          const wv = tr ? w[(i * k + c) * d + e] : w[(i * d + e) * k + c];
          acc += (u[(s * nw + i) * d + e] as number) * (wv as number);
        }
        z[(s * nw + i) * k + c] = acc;
      }
  return z;
}

function naiveOuter(a: Float32Array, u: Float32Array, n: number, nw: number, k: number, d: number) {
  const o = new Float64Array(nw * k * d);
  for (let s = 0; s < n; s++)
    for (let i = 0; i < nw; i++)
      for (let c = 0; c < k; c++)
        for (let e = 0; e < d; e++)
          o[(i * k + c) * d + e] =
            (o[(i * k + c) * d + e] as number) +
            (a[(s * nw + i) * k + c] as number) * (u[(s * nw + i) * d + e] as number);
  return o;
}

/** Runs f with the helper thread disabled (SGPROP_CORE_THREADS=1). */
function oneThread<T>(f: () => T): T {
  process.env.SGPROP_CORE_THREADS = "1";
  try {
    return f();
  } finally {
    delete process.env.SGPROP_CORE_THREADS;
  }
}

/**
 * Repeats a call until the helper thread took part in it (it joins a call once it is up and
 * awake), and returns that call's result.
 */
async function withHelper<T>(probe: () => T): Promise<T> {
  prewarmKernelThreads();
  for (let i = 0; i < 200; i++) {
    const before = kernelHelperCalls();
    const r = probe();
    if (kernelHelperCalls() > before) return r;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error("the kernels' helper thread never took part in a call");
}

afterAll(() => disposeKernelThreads());

describe("per-neuron SIMD kernels", () => {
  it("matVec (both weight layouts) and outer equal a float64 reference on random shapes", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 0, max: 1000 }),
        (n, nw, d, k, seed) => {
          const rng = Rng.fromSeed(seed);
          const u = randomArray(rng, n * nw * d);
          const w = randomArray(rng, nw * d * k);
          const a = randomArray(rng, n * nw * k);
          const [z, zt] = simdMatVecs(u, n, nw, d, [
            { data: w, k, transposed: false },
            { data: w, k, transposed: true },
          ]) as [Float32Array, Float32Array];
          const o = simdOuter(a, u, n, nw, k, d);
          const tol = 1e-5 * Math.sqrt(Math.max(d, n));
          expect(maxAbsDiff(z, naiveMatVec(u, w, n, nw, d, k, false))).toBeLessThan(tol);
          expect(maxAbsDiff(zt, naiveMatVec(u, w, n, nw, d, k, true))).toBeLessThan(tol);
          expect(maxAbsDiff(o, naiveOuter(a, u, n, nw, k, d))).toBeLessThan(tol);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("gives bit-identical results on one and two threads", async () => {
    const rng = Rng.fromSeed(7);
    const [n, nw, d, k] = [64, 40, 50, 55];
    const u = randomArray(rng, n * nw * d);
    const w = randomArray(rng, nw * k * d);
    const a = randomArray(rng, n * nw * k);
    const run = () => [
      ...simdMatVecs(u, n, nw, d, [{ data: w, k, transposed: true }]),
      simdOuter(a, u, n, nw, k, d),
    ];
    const single = oneThread(run);
    const double = await withHelper(run);
    for (let j = 0; j < single.length; j++) expect(double[j]).toEqual(single[j]);
  });
});

describe("kernel thread hand-off", () => {
  it("a kernel that traps throws, and later calls still give the one-thread numbers", async () => {
    const [n, nw, d, k] = [64, 40, 50, 55];
    const rng = Rng.fromSeed(11);
    const u = randomArray(rng, n * nw * d);
    const w = randomArray(rng, nw * k * d);
    const call = () => simdMatVecs(u, n, nw, d, [{ data: w, k, transposed: true }])[0];
    const single = oneThread(call);
    await withHelper(call);
    const outside = 2 ** 31 - 64; // a byte offset past the end of the kernels' memory
    expect(() =>
      kernelRuntime().run("pn_matvec", [outside, outside, outside, n, nw, d, k, 60], nw, 1e9),
    ).toThrow();
    expect(await withHelper(call)).toEqual(single);
  });

  it("never sleeps through the helper's completion (a lost wake-up cost the 1 s wait timeout)", async () => {
    const [n, nw, d, k] = [16, 64, 50, 8]; // just above the two-thread threshold: many hand-offs
    const u = new Float32Array(n * nw * d).fill(0.25);
    const w = new Float32Array(nw * k * d).fill(0.5);
    const call = () => simdMatVecs(u, n, nw, d, [{ data: w, k, transposed: true }]);
    await withHelper(call);
    let worst = 0;
    for (let i = 0; i < 2000; i++) {
      const t0 = performance.now();
      call();
      worst = Math.max(worst, performance.now() - t0);
    }
    expect(worst).toBeLessThan(500);
  });
});

describe("fused SIMD forward of the feed-forward SparseNet", () => {
  const cfg: FeedforwardSparseNetConfig = {
    inputDim: 60,
    numLayers: 3,
    width: 12,
    neuronDim: 3,
    numSlots: 3,
    numParents: 2,
    numActions: 4,
    residual: true,
  };

  it("equals the tfjs forward pass and does not depend on the number of threads", async () => {
    await useBackend("cpu");
    for (const residual of [true, false]) {
      const net = FeedforwardSparseNet.create({ ...cfg, residual }, Rng.fromSeed(3));
      const rng = Rng.fromSeed(4);
      const n = 37; // not a multiple of the 4-sample blocks
      const xd = randomArray(rng, n * cfg.inputDim);
      const x = tf.tensor2d(xd, [n, cfg.inputDim]);
      const ref = tf.tidy(() => net.forward(x, false).layers[cfg.numLayers - 1]?.h.dataSync());
      const read = (p: string) =>
        Array.from({ length: cfg.numLayers }, (_, l) => net.vars[`${p}.${l}`]?.dataSync() as Float32Array);
      const host = {
        ...net.config,
        firstLayerInputIdx: net.connectivity.firstLayerInputIdx,
        parentIdx: net.connectivity.parentIdx,
        keys: read("hiddenKeys"),
        maps: read("hiddenA"),
        biases: read("hiddenB"),
      };
      const single = oneThread(() => simdForwardHidden(host, xd, n));
      expect(maxAbsDiff(single, ref as Float32Array)).toBeLessThan(2e-6);
      // A wrong layer, routing or residual would be off by far more than rounding.
      expect(maxAbsDiff(single, new Float32Array(single.length))).toBeGreaterThan(0.1);
      const big = randomArray(rng, 400 * cfg.inputDim);
      const probe = () => simdForwardHidden(host, big, 400);
      const bigSingle = oneThread(probe);
      expect(await withHelper(probe)).toEqual(bigSingle);
      x.dispose();
      net.dispose();
    }
  });
});

/** Whether a clang that can compile and link wasm32 (with wasm-ld) is installed. */
function hasClang(): boolean {
  const probe =
    'CLANG="$(command -v clang-14 || command -v clang)" && echo "int x;" | ' +
    '"$CLANG" --target=wasm32 -nostdlib -Wl,--no-entry -x c - -o /dev/null';
  try {
    execFileSync("bash", ["-c", probe], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
}

describe("the committed kernel binaries", () => {
  // Runs where a wasm32 clang is installed (developer machines); CI without one skips it.
  it.skipIf(!hasClang()).each([
    ["scripts/build-kernels.sh", "src/kernels/wasmKernels.ts"],
    ["src/recurrent/wasm/build.sh", "src/recurrent/wasm/coreKernelsWasm.ts"],
  ])("%s rebuilds %s from its C sources byte for byte", (script, generated) => {
    const root = fileURLToPath(new URL("..", import.meta.url));
    const out = join(mkdtempSync(join(tmpdir(), "sgprop-kernels-")), "kernels.ts");
    execFileSync("bash", [join(root, script)], { env: { ...process.env, OUT: out }, stdio: "pipe" });
    const strip = (t: string) => t.split("\n").slice(1).join("\n"); // the header names the script
    expect(strip(readFileSync(out, "utf8"))).toBe(strip(readFileSync(join(root, generated), "utf8")));
  });
});
