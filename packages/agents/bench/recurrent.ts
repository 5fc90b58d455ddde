/**
 * Seconds per REINFORCE batch of the POPGym policies at the paper's sizes (LabyrinthEscape 6x6,
 * 80 steps; 20 and 40 envs; GRU, LSTM, SparseNet backprop, SparseNet sgprop adaptive), rollout
 * and update reported separately, as min/median/max over the measured batches, with the ratio
 * reference / ours (above 1 = faster than the reference PyTorch code).
 *
 *   node --conditions=source --import tsx bench/recurrent.ts        (BENCH_BATCHES=5 by default)
 *   BENCH_TASK=explore BENCH_ENVS=20 ... (LabyrinthExplore, 40 steps; reference totals only)
 */
import { pathToFileURL } from "node:url";
import { LabyrinthVectorEnv } from "@sgprop/popgym";
import { createPopgymTrainer, type PopgymTrainOptions } from "../src/index.js";

/** The reference figures (PyTorch 1.13, 2 threads, median of 7 batches): [rollout, update, total]. */
export const REFERENCE_SECONDS: Readonly<
  Record<string, Readonly<Record<number, readonly [number, number, number]>>>
> = {
  gru: { 20: [0.2, 0.3, 0.59], 40: [0.56, 0.43, 1.07] },
  lstm: { 20: [0.23, 0.31, 0.57], 40: [0.74, 0.52, 1.53] },
  "sparsenet backprop": { 20: [0.64, 1.59, 2.17], 40: [1.18, 2.47, 3.77] },
  "sparsenet sgprop adaptive": { 20: [0.71, 2.39, 3.1], 40: [1.12, 4.41, 5.48] },
};

/** LabyrinthExplore (40 steps, 20 envs) totals from the issue: [NaN, NaN, total]. */
export const REFERENCE_EXPLORE_SECONDS: Readonly<Record<string, readonly [number, number, number]>> = {
  gru: [Number.NaN, Number.NaN, 0.33],
  "sparsenet sgprop adaptive": [Number.NaN, Number.NaN, 1.07],
};

const CASES: readonly { label: string; opts: Partial<PopgymTrainOptions> }[] = [
  { label: "gru", opts: { model: "gru", algorithm: "backprop" } },
  { label: "lstm", opts: { model: "lstm", algorithm: "backprop" } },
  { label: "sparsenet backprop", opts: { model: "sparsenet", algorithm: "backprop" } },
  {
    label: "sparsenet sgprop adaptive",
    opts: { model: "sparsenet", algorithm: "sgprop", adaptiveTheta: true },
  },
];

function stats(xs: readonly number[]): { min: number; median: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return { min: s[0] as number, median, max: s[s.length - 1] as number };
}

function fmt(xs: readonly number[], ref: number): string {
  const { min, median, max } = stats(xs);
  return `${min.toFixed(2)}/${median.toFixed(2)}/${max.toFixed(2)} s (x${(ref / median).toFixed(2)})`;
}

/** Runs the table; `batches` measured batches after one warm-up batch per case. */
export async function runRecurrentBench(
  batches = 5,
  print: (line: string) => void = console.log,
  envCounts: readonly number[] = [20, 40],
  models: readonly string[] = CASES.map((c) => c.label),
  task: "escape" | "explore" = "escape",
): Promise<void> {
  print(
    `POPGym REINFORCE seconds per batch (min/median/max over ${batches} batches; x = reference median / ours)`,
  );
  print(
    "machine: 2 cores shared with other jobs, figures are noisy; LabyrinthEscape 6x6, 80 steps, paper sizes",
  );
  print(
    "wall = elapsed seconds; cpu = this process's CPU seconds over all threads (SparseNet rollouts and updates use two)",
  );
  for (const numEnvs of envCounts) {
    for (const c of CASES.filter((x) => models.includes(x.label))) {
      const trainer = await createPopgymTrainer({
        envFactory: (spec) => new LabyrinthVectorEnv(spec),
        ...c.opts,
        env: task,
        numEnvs,
        seed: 0,
        batches: batches + 1,
      });
      await trainer.next();
      const rollout: number[] = [];
      const update: number[] = [];
      const total: number[] = [];
      const cpu: number[][] = [[], [], []];
      for (let b = 0; b < batches; b++) {
        const row = (await trainer.next()).train;
        const r = row["perf/rollout_seconds"] as number;
        const u = row["perf/update_seconds"] as number;
        rollout.push(r);
        update.push(u);
        total.push(r + u);
        const rc = row["perf/rollout_cpu_seconds"] as number;
        const uc = row["perf/update_cpu_seconds"] as number;
        cpu[0]?.push(rc);
        cpu[1]?.push(uc);
        cpu[2]?.push(rc + uc);
      }
      trainer.dispose();
      const none = [Number.NaN, Number.NaN, Number.NaN] as const;
      const ref =
        task === "explore"
          ? ((numEnvs === 20 ? REFERENCE_EXPLORE_SECONDS[c.label] : undefined) ?? none)
          : (REFERENCE_SECONDS[c.label]?.[numEnvs] ?? none);
      print(
        `${c.label.padEnd(26)} ${String(numEnvs).padStart(2)} envs  wall: rollout ${fmt(rollout, ref[0])}  update ${fmt(update, ref[1])}  total ${fmt(total, ref[2])}`,
      );
      print(
        `${"".padEnd(26)} ${String(numEnvs).padStart(2)} envs  cpu:  rollout ${fmt(cpu[0] ?? [], ref[0])}  update ${fmt(cpu[1] ?? [], ref[1])}  total ${fmt(cpu[2] ?? [], ref[2])}`,
      );
    }
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // BENCH_ENVS=20,40 and BENCH_MODELS="gru,lstm,sparsenet backprop,sparsenet sgprop adaptive" select cases.
  const envs = (process.env.BENCH_ENVS ?? "20,40").split(",").map(Number);
  const models = process.env.BENCH_MODELS?.split(",").map((m) => m.trim()) ?? CASES.map((c) => c.label);
  const task = process.env.BENCH_TASK === "explore" ? "explore" : "escape";
  await runRecurrentBench(Number(process.env.BENCH_BATCHES ?? 5), console.log, envs, models, task);
}
