/**
 * Seconds per bandit training step (batch 64) at the paper's sizes, and per 4,000-context
 * evaluation, on the selected backend (SGPROP_BACKEND, default wasm here). Prints min/median/max
 * and the ratio of our median to the reference PyTorch figures of issue 6 (2-core CPU, PyTorch
 * 1.13 + OpenBLAS, 2 threads). Ratios below 1 mean we are faster.
 *
 *   pnpm --filter @sgprop/agents bench            (all cases; BENCH_STEPS=30 by default)
 *   BENCH_CASES=sgprop,eval pnpm --filter @sgprop/agents bench
 */
import { loadavg } from "node:os";
import { Rng } from "@sgprop/gym";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../src/backend.js";
import type { BanditTrainOptions } from "../src/bandit/options.js";
import { createBanditTrainer } from "../src/bandit/trainer.js";
import type {
  BanditEvaluation,
  ContextBatchLike,
  ContextualBandit,
  PolicyProbabilities,
} from "../src/bandit/types.js";
import { Mlp } from "../src/feedforward/mlp.js";
import { FeedforwardSparseNet } from "../src/feedforward/sparsenet.js";
import { perNeuronKernel, perNeuronMatVec, setPerNeuronKernel } from "../src/ops/perNeuron.js";

/** Reference PyTorch seconds (issue 6). */
const REFERENCE = { sgprop: 0.31, backprop: 0.13, mlp: 0.022, eval: 3.2, mlpEval: 0.2 } as const;

/**
 * A bandit with MNIST's shapes and random contexts: timing does not depend on the pixels. Like the
 * real bandit it copies rows of a fixed pool, so that sampling costs what MnistBandit's does
 * (0.1 ms per batch) rather than 50,000 normal draws per step.
 */
class ShapeBandit implements ContextualBandit {
  readonly numActions = 9;
  readonly contextSize = 784;
  private rng = Rng.fromSeed(1);
  private readonly pool = Float32Array.from({ length: 512 * 784 }, () => this.rng.normal());
  createBatch(size: number): ContextBatchLike {
    return { size, contextSize: 784, contexts: new Float32Array(size * 784) };
  }
  sample(batch: ContextBatchLike): ContextBatchLike {
    for (let r = 0; r < batch.size; r++) {
      const k = this.rng.integer(0, 511);
      batch.contexts.set(this.pool.subarray(k * 784, (k + 1) * 784), r * 784);
    }
    return batch;
  }
  score(batch: ContextBatchLike, actions: ArrayLike<number>): Float32Array {
    return Float32Array.from({ length: batch.size }, (_, b) => ((actions[b] as number) % 2 === 0 ? 1 : 0));
  }
  async evaluate(
    policy: (b: ContextBatchLike) => PolicyProbabilities | Promise<PolicyProbabilities>,
  ): Promise<BanditEvaluation> {
    await policy(this.sample(this.createBatch(10)));
    return { sampledReward: 0, expectedReward: 0 };
  }
  state(): unknown {
    return this.rng.state();
  }
  setState(s: unknown): void {
    this.rng = Rng.fromState(s as number[]);
  }
}

function stats(xs: number[]): { min: number; median: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return {
    min: s[0] as number,
    median: s[Math.floor(s.length / 2)] as number,
    max: s[s.length - 1] as number,
  };
}

/** The machine is shared: every figure is printed with the 1-minute load average next to it. */
function load(): string {
  return (loadavg()[0] as number).toFixed(2);
}

function report(name: string, times: number[], reference: number): void {
  const { min, median, max } = stats(times);
  console.log(
    `${name.padEnd(34)} min ${min.toFixed(4)} s  median ${median.toFixed(4)} s  max ${max.toFixed(4)} s  ` +
      `reference ${reference} s  ratio ${(median / reference).toFixed(2)} (n=${times.length}, load ${load()})`,
  );
}

async function trainSteps(o: Partial<BanditTrainOptions>, n: number): Promise<number[]> {
  const t = await createBanditTrainer({ ...o, steps: n + 3, numEvals: 0, bandit: new ShapeBandit() });
  for (let i = 0; i < 3; i++) await t.next();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await t.next();
    times.push((performance.now() - t0) / 1000);
  }
  t.dispose();
  return times;
}

/** GFLOP/s of the dense matMul and of the per-neuron contraction at the paper's sizes. */
function kernelThroughput(): void {
  const gflops = (name: string, flops: number, f: () => tf.Tensor) => {
    tf.dispose(f());
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const r = f();
      r.dataSync();
      r.dispose();
      times.push((performance.now() - t0) / 1000);
    }
    const { median } = stats(times);
    console.log(
      `${name.padEnd(44)} ${(flops / median / 1e9).toFixed(1)} GFLOP/s (median ${(median * 1000).toFixed(1)} ms)`,
    );
  };
  const a = tf.randomNormal([64, 745]);
  const a4 = tf.randomNormal([4000, 745]);
  const w = tf.randomNormal([745, 745]);
  gflops("matMul [64,745]x[745,745]", 2 * 64 * 745 * 745, () => tf.matMul(a, w));
  gflops("matMul [4000,745]x[745,745]", 2 * 4000 * 745 * 745, () => tf.matMul(a4, w));
  const u = tf.randomNormal([64, 200, 50]);
  const wn = tf.randomNormal([200, 50, 55]);
  const u3 = tf.randomNormal([200, 64, 50]);
  // Every per-neuron kernel on the same contraction; the default is marked.
  const chosen = perNeuronKernel();
  for (const kernel of ["simd", "depthwise", "matmul"] as const) {
    setPerNeuronKernel(kernel);
    gflops(
      `perNeuronMatVec [64,200,50]x[200,50,55] ${kernel}${kernel === chosen ? " (default)" : ""}`,
      2 * 64 * 200 * 50 * 55,
      () => perNeuronMatVec(u, wn),
    );
  }
  setPerNeuronKernel(undefined);
  gflops("batched matMul [200,64,50]x[200,50,55]", 2 * 64 * 200 * 50 * 55, () => tf.matMul(u3, wn));
  // The evaluation path: one 2-D matMul per neuron on neuron-major inputs (XNNPACK's dense GEMM).
  const ue = tf.unstack(tf.randomNormal([200, 1000, 50]));
  const we = tf.unstack(tf.randomNormal([200, 50, 50]));
  gflops("200 x 2-D matMul [1000,50]x[50,50] (evaluation)", 2 * 1000 * 200 * 50 * 50, () =>
    tf.stack(ue.map((x, i) => tf.matMul(x, we[i] as tf.Tensor))),
  );
  tf.dispose([a, a4, w, u, wn, u3, ...ue, ...we]);
}

async function main(): Promise<void> {
  const backend = await selectBackend(
    (process.env.SGPROP_BACKEND as "wasm" | "cpu" | "tensorflow" | undefined) ?? undefined,
  );
  const n = Number(process.env.BENCH_STEPS ?? 30);
  const cases = new Set((process.env.BENCH_CASES ?? "kernels,sgprop,backprop,mlp,eval,mlpEval").split(","));
  console.log(
    `backend ${backend}; ${n} timed steps per case after 3 warm-up steps; machine shared (load ${load()}), figures noisy`,
  );
  if (cases.has("kernels")) kernelThroughput();
  if (cases.has("sgprop"))
    report(
      "sparsenet sgprop adaptive (step)",
      await trainSteps({ model: "sparsenet", algorithm: "sgprop" }, n),
      REFERENCE.sgprop,
    );
  if (cases.has("backprop"))
    report(
      "sparsenet backprop (step)",
      await trainSteps({ model: "sparsenet", algorithm: "backprop" }, n),
      REFERENCE.backprop,
    );
  if (cases.has("mlp"))
    report(
      "mlp 5x745 backprop (step)",
      await trainSteps({ model: "mlp", algorithm: "backprop" }, n),
      REFERENCE.mlp,
    );
  const evalRuns = Math.max(3, Math.min(7, Math.floor(n / 4)));
  const x = tf.randomNormal([4000, 784]);
  if (cases.has("eval")) {
    const net = FeedforwardSparseNet.create(
      {
        inputDim: 784,
        numLayers: 5,
        width: 200,
        neuronDim: 10,
        numSlots: 5,
        numParents: 5,
        numActions: 9,
        residual: true,
      },
      Rng.fromSeed(0),
    );
    const times: number[] = [];
    for (let i = 0; i < evalRuns + 1; i++) {
      const t0 = performance.now();
      const p = net.probabilities(x);
      p.dataSync();
      p.dispose();
      if (i > 0) times.push((performance.now() - t0) / 1000);
    }
    report("sparsenet eval, 4000 contexts", times, REFERENCE.eval);
    net.dispose();
  }
  if (cases.has("mlpEval")) {
    const net = Mlp.create(
      { inputDim: 784, hiddenWidth: 745, numLayers: 5, numActions: 9, residual: false },
      Rng.fromSeed(0),
    );
    const times: number[] = [];
    for (let i = 0; i < evalRuns + 1; i++) {
      const t0 = performance.now();
      const p = net.probabilities(x);
      p.dataSync();
      p.dispose();
      if (i > 0) times.push((performance.now() - t0) / 1000);
    }
    net.dispose();
    report("mlp eval, 4000 contexts", times, REFERENCE.mlpEval);
  }
  x.dispose();
}

await main();
