/**
 * Overheads of @sgprop/gym on the hot paths of a rollout (issue 3 gives no reference figures, so
 * absolute rates are printed; compare runs on the same machine only).
 * Run: pnpm --filter @sgprop/gym bench   (BENCH_REPEATS, BENCH_SLICE_MS tune the sampling)
 */
import {
  Discrete,
  Env,
  FlattenObservation,
  flatten,
  type Info,
  MultiDiscrete,
  type ResetArgs,
  type StepResult,
  SyncVectorEnv,
  TimeLimit,
} from "../src/index.js";

const REPEATS = Number(process.env.BENCH_REPEATS ?? 7);
const SLICE_MS = Number(process.env.BENCH_SLICE_MS ?? 300);

/** A trivial env shaped like the paper's labyrinth (MultiDiscrete([5]*10) observation, 4 actions). */
class Trivial extends Env<Int32Array, number> {
  readonly observationSpace = new MultiDiscrete(new Array<number>(10).fill(5));
  readonly actionSpace = new Discrete(4);
  readonly obs = new Int32Array(10);
  t = 0;
  override reset(args?: ResetArgs): [Int32Array, Info] {
    super.reset(args);
    this.t = 0;
    return [this.obs, {}];
  }
  step(action: number): StepResult<Int32Array> {
    this.t += 1;
    this.obs[9] = action;
    return [this.obs, -0.0125, false, this.t >= 80, {}];
  }
}

function measure(body: () => number): number[] {
  body();
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

function report(name: string, rates: number[], unit: string): void {
  const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${(x / 1e3).toFixed(1)}k`);
  const med = rates[Math.floor(rates.length / 2)] as number;
  console.log(
    `${name.padEnd(44)} min ${fmt(rates[0] as number)}  median ${fmt(med)}  max ${fmt(rates.at(-1) as number)} ${unit}`,
  );
}

const guarded = new TimeLimit(new Trivial(), 80);
report(
  "guarded step + reset, TimeLimit(80)",
  measure(() => {
    guarded.reset({ seed: 1 });
    for (let i = 0; i < 80; i++) guarded.step(i & 3);
    return 80;
  }),
  "steps/s",
);

const space = new MultiDiscrete(new Array<number>(10).fill(5));
const x = space.sample();
report(
  "flatten MultiDiscrete([5]*10) -> 50 one-hot",
  measure(() => {
    for (let i = 0; i < 1000; i++) flatten(space, x);
    return 1000;
  }),
  "calls/s",
);

for (const reuseBuffer of [false, true]) {
  const flat = new FlattenObservation(new TimeLimit(new Trivial(), 80), { reuseBuffer });
  report(
    reuseBuffer ? "FlattenObservation step, reuseBuffer" : "FlattenObservation step, fresh arrays",
    measure(() => {
      flat.reset({ seed: 1 });
      for (let i = 0; i < 80; i++) flat.step(i & 3);
      return 80;
    }),
    "steps/s",
  );
}

const vec = new SyncVectorEnv(Array.from({ length: 20 }, () => () => new Trivial()));
vec.reset({ seed: 0 });
const actions = new Int32Array(20);
report(
  "SyncVectorEnv(20) step, next-step autoreset",
  measure(() => {
    for (let i = 0; i < 50; i++) vec.step(actions as ArrayLike<number>);
    return 50 * 20;
  }),
  "env steps/s",
);
console.log("(machine shared with other jobs: compare medians across several runs)");
