/**
 * Throughput of the labyrinths against the reference POPGym figures of issue 4 (2-core machine):
 * one wrapped 6x6 env (episode 80) 28,000 steps/s with resets (31,000 step only), resets 0.25 ms
 * (6x6) / 0.49 ms (10x10), a batch of 20 envs driven like the paper's trainer 21,000 env steps/s.
 * Run: pnpm --filter @sgprop/popgym bench
 */
import { Rng } from "@sgprop/gym";
import { LabyrinthEscape, LabyrinthVectorEnv, makePaperLabyrinth } from "../src/index.js";

const REPEATS = Number(process.env.BENCH_REPEATS ?? 7);
const SLICE_MS = Number(process.env.BENCH_SLICE_MS ?? 300);

const REF = {
  singleWithResets: 28_000,
  singleStepOnly: 31_000,
  reset6: 1 / 0.25e-3,
  reset10: 1 / 0.49e-3,
  batch20: 21_000,
};

/** Runs `body` (which returns how many operations it did) repeatedly for SLICE_MS per sample. */
function measure(body: () => number): number[] {
  body(); // warm-up (JIT)
  const rates: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    let ops = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < SLICE_MS) {
      ops += body();
      t = performance.now();
    }
    rates.push((ops * 1000) / (t - t0));
  }
  return rates.sort((a, b) => a - b);
}

function fmt(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0);
}

const rows: string[][] = [["figure", "min/s", "median/s", "max/s", "reference/s", "median ratio"]];
function report(name: string, rates: number[], reference?: number): void {
  const med = rates[Math.floor(rates.length / 2)] as number;
  rows.push([
    name,
    fmt(rates[0] as number),
    fmt(med),
    fmt(rates[rates.length - 1] as number),
    reference === undefined ? "-" : fmt(reference),
    reference === undefined ? "-" : `${(med / reference).toFixed(1)}x`,
  ]);
  console.error(`done: ${name}`);
}

// A fixed table of random actions so that drawing them costs nothing inside the timed loops.
const ACTIONS = new Int32Array(1 << 16);
{
  const rng = Rng.fromSeed(1);
  for (let i = 0; i < ACTIONS.length; i++) ACTIONS[i] = rng.integer(0, 3);
}

// 1. One wrapped env (paper's PreviousAction + Antialias + Flatten, 6x6 escape, episode 80).
for (const variant of ["fused", "wrapper-stack"] as const) {
  const env = makePaperLabyrinth("escape", { variant });
  let seed = 0;
  let a = 0;
  env.reset({ seed: seed++ });
  report(
    `single wrapped env (${variant}), steps incl. resets`,
    measure(() => {
      for (let i = 0; i < 10_000; i++) {
        const [, , term, trunc] = env.step(ACTIONS[a++ & 0xffff] as number);
        if (term || trunc) env.reset({ seed: seed++ });
      }
      return 10_000;
    }),
    REF.singleWithResets,
  );
}

// 2. Resets through the public env API (seeded, so every reset builds a new maze).
for (const [dims, ref] of [
  [[6, 6], REF.reset6],
  [[10, 10], REF.reset10],
] as const) {
  for (const generator of ["default", "reference"] as const) {
    const env = new LabyrinthEscape({ mazeDims: [dims[0], dims[1]], episodeLength: 80, generator });
    let seed = 0;
    report(
      `reset ${dims[0]}x${dims[1]} (generator ${generator})`,
      measure(() => {
        for (let i = 0; i < 1000; i++) env.reset({ seed: seed++ });
        return 1000;
      }),
      ref,
    );
  }
}

// 3. Vector env driven like the paper's trainer: reset all, step active envs until each is done.
for (const numEnvs of [20, 40, 1024]) {
  const vec = new LabyrinthVectorEnv({ kind: "escape", numEnvs });
  const active = new Uint8Array(numEnvs);
  const actions = new Int32Array(numEnvs);
  let seed = 0;
  let a = 0;
  report(
    `vector env N=${numEnvs}, env steps incl. resets (trainer pattern)`,
    measure(() => {
      for (let k = 0; k < numEnvs; k++) {
        vec.resetEnv(k, { seed: seed++ });
        active[k] = 1;
      }
      let steps = 0;
      for (let t = 0; t < 80; t++) {
        for (let k = 0; k < numEnvs; k++) actions[k] = ACTIONS[a++ & 0xffff] as number;
        vec.step(actions, active);
        for (let k = 0; k < numEnvs; k++) {
          if (active[k]) {
            steps++;
            if (vec.terminated[k] || vec.truncated[k]) active[k] = 0;
          }
        }
      }
      return steps;
    }),
    numEnvs === 20 ? REF.batch20 : undefined,
  );
}

const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
console.log(
  `labyrinth bench (${REPEATS} samples of ${SLICE_MS} ms each; shared 2-core machine, figures are noisy)`,
);
for (const r of rows) console.log(r.map((x, j) => x.padEnd(widths[j]!)).join("  "));
