import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import * as tf from "@tensorflow/tfjs-core";
import type { BackendName } from "../backend.js";
import type { FeedforwardSparseNet } from "./sparseNet.js";

/**
 * Forward-only evaluation of a {@link FeedforwardSparseNet} split over worker threads. tfjs's wasm
 * backend is single-threaded in Node, so the only way to use a second core is a second backend:
 * each worker holds a copy of the network, receives the current parameters with every request
 * and evaluates a contiguous slice of the contexts. Rows are independent and the kernels do not
 * depend on the number of rows, so the result equals the single-threaded
 * {@link FeedforwardSparseNet.probabilities} exactly (tested), whatever the number of threads.
 */
export class ParallelSparseNetEvaluator {
  private constructor(
    private readonly net: FeedforwardSparseNet,
    private readonly workers: Worker[],
  ) {}

  /** Starts `threads` workers (each initialises its own backend: allow about a second). */
  static async create(net: FeedforwardSparseNet, threads = 2): Promise<ParallelSparseNetEvaluator> {
    if (!Number.isInteger(threads) || threads < 1)
      throw new RangeError(`threads must be >= 1, got ${threads}`);
    const params: Record<string, { data: Float32Array; shape: number[] }> = {};
    for (const [k, v] of Object.entries(net.vars))
      params[k] = { data: v.dataSync() as Float32Array, shape: v.shape };
    const workerData = {
      backend: tf.getBackend() as BackendName,
      config: net.config,
      connectivity: net.connectivity,
      params,
    };
    const workers = await Promise.all(
      Array.from({ length: threads }, async () => {
        const w = spawnWorker(workerData);
        await new Promise<void>((resolve, reject) => {
          w.once("error", reject);
          w.once("message", () => resolve());
        });
        return w;
      }),
    );
    return new ParallelSparseNetEvaluator(net, workers);
  }

  /** Action probabilities [B, A] (row-major) for contexts [B, X] (row-major), with the net's current parameters. */
  async probabilities(contexts: Float32Array, batch: number): Promise<Float32Array> {
    const { inputDim: dim, numActions: a } = this.net.config;
    if (contexts.length !== batch * dim) {
      throw new RangeError(`contexts must hold ${batch} x ${dim} values, got ${contexts.length}`);
    }
    const params: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(this.net.vars)) params[k] = v.dataSync() as Float32Array;
    const t = this.workers.length;
    const parts = await Promise.all(
      this.workers.map((w, i) => {
        const lo = Math.floor((batch * i) / t);
        const hi = Math.floor((batch * (i + 1)) / t);
        if (hi === lo) return Promise.resolve(new Float32Array(0));
        return request(w, { params, x: contexts.slice(lo * dim, hi * dim), n: hi - lo });
      }),
    );
    const out = new Float32Array(batch * a);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  async dispose(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

function request(
  w: Worker,
  msg: { params: Record<string, Float32Array>; x: Float32Array; n: number },
): Promise<Float32Array> {
  return new Promise((resolve, reject) => {
    w.once("message", (r: { probabilities?: Float32Array; error?: string }) => {
      if (r.probabilities !== undefined) resolve(r.probabilities);
      else reject(new Error(`evaluation worker failed: ${r.error}`));
    });
    w.postMessage(msg, [msg.x.buffer as ArrayBuffer]);
  });
}

/**
 * From the built package the worker is plain JavaScript; from the TypeScript sources (tests,
 * bench) it is registered through tsx first, because loader flags do not reach worker threads.
 */
function spawnWorker(workerData: unknown): Worker {
  const here = import.meta.url;
  if (here.endsWith(".js")) return new Worker(new URL("./parallelEvalWorker.js", here), { workerData });
  // require.resolve yields the CommonJS build of tsx's ESM API; its ES-module twin sits beside it.
  const tsxApi = pathToFileURL(
    createRequire(here)
      .resolve("tsx/esm/api")
      .replace(/\.cjs$/, ".mjs"),
  ).href;
  const entry = new URL("./parallelEvalWorker.ts", here).href;
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData, execArgv: ["--conditions=source"] });
}
