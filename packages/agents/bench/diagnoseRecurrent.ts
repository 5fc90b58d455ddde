/**
 * Cost and precision of the recurrent SparseNet's gradient diagnosis at the paper's sizes
 * (LabyrinthEscape 6x6, 80 steps, 20 envs, width 128): trains BENCH_BATCHES sgprop batches, saves
 * the checkpoint, diagnoses it with BENCH_EPISODES episodes, and prints the seconds per episode and
 * the pool's own standard error against the MSE of the estimators at the trainer's batch.
 *
 *   node --conditions=source --import tsx bench/diagnoseRecurrent.ts
 *   BENCH_EPISODES=100 BENCH_BATCHES=20 BENCH_TASK=explore BENCH_RETURNS=pool ...
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LabyrinthVectorEnv } from "@sgprop/popgym";
import {
  createPopgymTrainer,
  diagnoseRecurrentCheckpoint,
  estimatorError,
  type LabyrinthEnvFactory,
  momentIndex,
  sumUnits,
  targetVariance,
} from "../src/index.js";

const episodes = Number(process.env.BENCH_EPISODES ?? 60);
const batches = Number(process.env.BENCH_BATCHES ?? 10);
const task = process.env.BENCH_TASK === "explore" ? "explore" : "escape";
const envFactory: LabyrinthEnvFactory = (spec) => new LabyrinthVectorEnv(spec);

const trainer = await createPopgymTrainer({ envFactory, env: task, batches, seed: 0 });
const t0 = performance.now();
while (trainer.completed < trainer.total) await trainer.next();
const dir = mkdtempSync(join(tmpdir(), "sgprop-diagnose-bench-"));
await trainer.saveCheckpoint(dir);
trainer.dispose();
console.log(`trained ${batches} batches in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

let rolloutDone = 0;
let gradientsStart = 0;
const start = performance.now();
const cpu0 = process.cpuUsage();
const m = await diagnoseRecurrentCheckpoint(dir, {
  envFactory,
  episodes,
  returns: process.env.BENCH_RETURNS === "pool" ? "pool" : "raw",
  onProgress: (phase, done, total) => {
    if (phase === "rollout" && done === total) {
      rolloutDone = performance.now();
      gradientsStart = rolloutDone;
    }
    if (phase === "gradients" && done % 20 === 0) console.log(`  ${done}/${total} episodes`);
  },
});
const end = performance.now();
const cpu = process.cpuUsage(cpu0);
rmSync(dir, { recursive: true, force: true });
const perEpisode = (end - gradientsStart) / 1000 / episodes;
console.log(
  `${episodes} episodes: rollouts ${((rolloutDone - start) / 1000).toFixed(2)} s, gradients ${((end - gradientsStart) / 1000).toFixed(1)} s ` +
    `(${(perEpisode * 1000).toFixed(0)} ms per episode), CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`,
);
console.log(m.sampleDescription);

// Precision: the pool's own sampling variance of the target against the MSEs at the trainer's batch.
const target = { kind: "pool" as const, coefficients: [1, 0, 0, 0] };
const tv = sumUnits(targetVariance(m.raw, target));
for (const [name, c] of [
  ["backprop", [1, 0, 0, 0]],
  ["synthetic", [0, 0, 1, 0]],
  ["applied (current theta)", m.current],
] as const) {
  const e = estimatorError(m.raw, c, m.trainerBatch, target);
  console.log(
    `${name.padEnd(24)} n=${m.trainerBatch}: mse ${sumUnits(e.mse).toExponential(3)} = var ${sumUnits(e.variance).toExponential(3)} + bias2 ${sumUnits(e.bias2).toExponential(3)}`,
  );
}
for (const [k, name] of m.raw.kinds.entries()) {
  let sq = 0;
  let mean = 0;
  for (let i = 0; i < m.raw.units; i++) {
    sq += m.raw.sumInner[momentIndex(m.raw, k, k, i)] as number;
    mean += m.raw.innerOfSums[momentIndex(m.raw, k, k, i)] as number;
  }
  const n = m.raw.samples;
  console.log(
    `${name.padEnd(10)} mean ||x||^2 ${(sq / n).toExponential(3)}, ||mean x||^2 ${(mean / (n * n)).toExponential(3)}`,
  );
}
console.log(`target sampling variance (whole net) ${tv.toExponential(3)}`);
const theta = Array.from(m.liveTheta);
console.log(`live theta: mean ${(theta.reduce((a, b) => a + b, 0) / theta.length).toFixed(3)}`);
