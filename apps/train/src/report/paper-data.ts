import { mean, sem } from "../run/metrics.js";
import { seriesOf } from "./aggregate.js";
import type { LoadedRun, LoadedSweep } from "./load.js";

/**
 * The paper's sweeps (apps/train/sweeps/paper-*.yaml, or their `--quick` versions) found among the
 * loaded sweeps, and the per-run numbers the paper's figures and claims use. The method labels are
 * the authors' (jackyzyb/sgprop run_sweeps*.sh).
 */
export interface PaperSweeps {
  readonly banditLr?: LoadedSweep;
  readonly banditPflip?: LoadedSweep;
  readonly banditParents?: LoadedSweep;
  readonly banditFixedTheta?: LoadedSweep;
  /** POPGym sweeps by env ("escape", "explore"). */
  readonly popgym: ReadonlyMap<string, LoadedSweep>;
}

export const PAPER_SWEEP_NAMES = [
  "paper-bandit-lr",
  "paper-bandit-pflip",
  "paper-bandit-parents",
  "paper-bandit-fixed-theta",
  "paper-popgym-escape",
  "paper-popgym-explore",
] as const;

export const BANDIT_METHODS = [
  "sparse_sgprop_adaptive",
  "sparse_sgprop_fixed_theta",
  "sparse_backprop",
  "mlp",
] as const;
export const POPGYM_METHODS = ["sparsenet_sgprop_adaptive", "sparsenet_backprop", "gru", "lstm"] as const;

/** Legend names, as in the authors' plots. */
export const METHOD_LABELS: Readonly<Record<string, string>> = {
  sparse_sgprop_adaptive: "SparseNet sgprop (adaptive theta)",
  sparse_sgprop_fixed_theta: "SparseNet sgprop (theta 0.9)",
  sparse_backprop: "SparseNet backprop",
  mlp: "MLP",
  sparsenet_sgprop_adaptive: "SparseNet sgprop (adaptive theta)",
  sparsenet_backprop: "SparseNet backprop",
  gru: "GRU",
  lstm: "LSTM",
};

export function label(method: string): string {
  return METHOD_LABELS[method] ?? method;
}

/** The base learning rate of each bandit method (run_sweeps.sh: BASE_*_LR). */
export const BANDIT_BASE_LR: Readonly<Record<string, number>> = {
  sparse_sgprop_adaptive: 5e-3,
  sparse_sgprop_fixed_theta: 5e-3,
  sparse_backprop: 1e-3,
  mlp: 2e-5,
};

/** A sweep's name without the `-quick` suffix that `reproduce --quick` adds. */
export function baseName(name: string): string {
  return name.replace(/-quick$/, "");
}

export function isPaperSweep(name: string): boolean {
  return (PAPER_SWEEP_NAMES as readonly string[]).includes(baseName(name));
}

export function findPaperSweeps(loaded: readonly LoadedSweep[]): PaperSweeps {
  const by = new Map(loaded.map((l) => [baseName(l.sweep.name), l]));
  const popgym = new Map<string, LoadedSweep>();
  for (const env of ["escape", "explore"]) {
    const s = by.get(`paper-popgym-${env}`);
    if (s !== undefined) popgym.set(env, s);
  }
  const pick = (name: string) => by.get(name);
  return {
    ...optional("banditLr", pick("paper-bandit-lr")),
    ...optional("banditPflip", pick("paper-bandit-pflip")),
    ...optional("banditParents", pick("paper-bandit-parents")),
    ...optional("banditFixedTheta", pick("paper-bandit-fixed-theta")),
    popgym,
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [k in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [k in K]?: V };
}

export function num(run: LoadedRun, key: string): number {
  return Number(run.run.options[key]);
}

/** Complete runs of `method` in `sweep` that satisfy `where`. */
export function runsOf(
  sweep: LoadedSweep | undefined,
  method: string,
  where: (r: LoadedRun) => boolean = () => true,
): LoadedRun[] {
  if (sweep === undefined) return [];
  return sweep.runs.filter((r) => r.status === "complete" && r.run.method === method && where(r));
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(a), Math.abs(b));

export function atLr(lr: number): (r: LoadedRun) => boolean {
  return (r) => close(num(r, "learningRate"), lr);
}

/** Bandit: the noiseless eval reward of the last evaluation (the authors' "final eval reward"). */
export function finalEvalReward(run: LoadedRun): number {
  const s = seriesOf(run, "bandit", "eval/reward", "eval");
  return s.length === 0 ? Number.NaN : (s[s.length - 1]?.value as number);
}

/** Bandit: the mean eval reward over the evaluations (area under the curve, normalised). */
export function evalRewardAuc(run: LoadedRun): number {
  return mean(seriesOf(run, "bandit", "eval/reward", "eval").map((p) => p.value));
}

/** POPGym: the success rate averaged over the batches (the authors' normalised success AUC). */
export function successAuc(run: LoadedRun): number {
  return mean(seriesOf(run, "popgym", "charts/success_rate", "train").map((p) => p.value));
}

/** POPGym: mean success rate of the last 5 batches (the authors' "final success"). */
export function successLast5(run: LoadedRun): number {
  return mean(
    seriesOf(run, "popgym", "charts/success_rate", "train")
      .slice(-5)
      .map((p) => p.value),
  );
}

/**
 * The base-setting runs of `method` that an ablation sweep borrows from paper-bandit-lr: the runs at
 * the learning rate the ablation uses for that method (the point the authors' scripts run twice).
 */
export function basePointRuns(
  lrSweep: LoadedSweep | undefined,
  ablation: LoadedSweep | undefined,
  method: string,
): LoadedRun[] {
  const ablationRun = runsOf(ablation, method)[0];
  const lr = ablationRun === undefined ? BANDIT_BASE_LR[method] : num(ablationRun, "learningRate");
  return lr === undefined ? [] : runsOf(lrSweep, method, atLr(lr));
}

/** Runs grouped by the value of a numeric setting, in ascending order. */
export function groupBy(runs: readonly LoadedRun[], key: (r: LoadedRun) => number): [number, LoadedRun[]][] {
  const m = new Map<number, LoadedRun[]>();
  for (const r of runs) {
    const k = key(r);
    m.set(k, [...(m.get(k) ?? []), r]);
  }
  return [...m.entries()].sort((a, b) => a[0] - b[0]);
}

export interface Summary {
  readonly mean: number;
  readonly sem: number;
  readonly n: number;
}

export function summary(values: readonly number[]): Summary {
  const f = values.filter(Number.isFinite);
  return { mean: mean(f), sem: sem(f), n: f.length };
}

/** The learning rate of `method` whose runs have the best mean of `score` (ties: the smaller lr). */
export function bestLr(
  sweep: LoadedSweep | undefined,
  method: string,
  score: (r: LoadedRun) => number,
  where: (r: LoadedRun) => boolean = () => true,
): { lr: number; runs: LoadedRun[] } | undefined {
  let best: { lr: number; runs: LoadedRun[]; m: number } | undefined;
  for (const [lr, runs] of groupBy(runsOf(sweep, method, where), (r) => num(r, "learningRate"))) {
    const m = mean(runs.map(score).filter(Number.isFinite));
    if (Number.isFinite(m) && (best === undefined || m > best.m)) best = { lr, runs, m };
  }
  return best === undefined ? undefined : { lr: best.lr, runs: best.runs };
}
