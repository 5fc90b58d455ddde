import type { Rng } from "@sgprop/gym";
import { formatNumber } from "../run/metrics.js";
import {
  type BootstrapResult,
  bootstrapDifference,
  bootstrapGroups,
  bootstrapRng,
  bootstrapSlope,
  type Direction,
  type Verdict,
  verdictOf,
} from "./claims.js";
import type { LoadedRun, LoadedSweep } from "./load.js";
import {
  atLr,
  BANDIT_BASE_LR,
  basePointRuns,
  bestLr,
  finalEvalReward,
  label,
  num,
  type PaperSweeps,
  runsOf,
  successAuc,
} from "./paper-data.js";

/** One claim of the paper as a testable statement, and what this run measured. */
export interface ClaimResult {
  readonly id: string;
  readonly figure: string;
  readonly statement: string;
  /** The statistic, its unit of resampling, and the settings it is measured at. */
  readonly statistic: string;
  readonly direction: Direction;
  /** Absent when the sweeps the claim needs are not in the report. */
  readonly result?: BootstrapResult;
  readonly verdict: Verdict | "not measured";
  /** Which runs entered, e.g. the best learning rates. */
  readonly detail: string;
}

interface Measured {
  readonly result?: BootstrapResult;
  readonly detail: string;
}

type Measure = (rng: Rng) => Measured;

function claim(
  id: string,
  figure: string,
  statement: string,
  statistic: string,
  direction: Direction,
  measure: Measure,
): ClaimResult {
  const { result, detail } = measure(bootstrapRng(id));
  const verdict = result === undefined ? "not measured" : verdictOf(result, direction);
  return { id, figure, statement, statistic, direction, verdict, detail, ...(result ? { result } : {}) };
}

const missing = (what: string): Measured => ({ detail: `needs ${what}` });
const lrText = (lr: number) => lr.toExponential(0);

/** Per-seed values of `score` for `method`'s runs at its best lr (by the mean of the same score). */
function atBest(
  sweep: LoadedSweep | undefined,
  method: string,
  score: (r: LoadedRun) => number,
  where?: (r: LoadedRun) => boolean,
): { values: number[]; text: string } | undefined {
  const best = bestLr(sweep, method, score, where);
  if (best === undefined) return undefined;
  return { values: best.runs.map(score), text: `${label(method)} lr ${lrText(best.lr)}` };
}

function bestLrDifference(
  sweep: LoadedSweep | undefined,
  a: string,
  b: string,
  score: (r: LoadedRun) => number,
  rng: Rng,
  where?: (r: LoadedRun) => boolean,
): Measured {
  const x = atBest(sweep, a, score, where);
  const y = atBest(sweep, b, score, where);
  if (x === undefined || y === undefined) return missing(`complete runs of ${a} and ${b}`);
  return { result: bootstrapDifference(x.values, y.values, rng), detail: `${x.text}; ${y.text}` };
}

/** Per-seed gaps a - b at each value of a setting; a seed is one profile of (x, gap) points. */
function gapProfiles(
  aRuns: readonly LoadedRun[],
  bRuns: readonly LoadedRun[],
  x: (r: LoadedRun) => number,
  score: (r: LoadedRun) => number,
): { x: number; y: number }[][] {
  const key = (r: LoadedRun) => `${num(r, "seed")}|${x(r)}`;
  const bBy = new Map(bRuns.map((r) => [key(r), r]));
  const bySeed = new Map<number, { x: number; y: number }[]>();
  for (const r of aRuns) {
    const other = bBy.get(key(r));
    if (other === undefined) continue;
    const seed = num(r, "seed");
    bySeed.set(seed, [...(bySeed.get(seed) ?? []), { x: x(r), y: score(r) - score(other) }]);
  }
  return [...bySeed.entries()].sort((p, q) => p[0] - q[0]).map(([, points]) => points);
}

function ablationSlope(p: PaperSweeps, ablation: LoadedSweep | undefined, key: string, rng: Rng): Measured {
  if (ablation === undefined) return missing(`the ${key} sweep`);
  const a = "sparse_sgprop_adaptive";
  const b = "sparse_backprop";
  const runs = (m: string) => [...runsOf(ablation, m), ...basePointRuns(p.banditLr, ablation, m)];
  const profiles = gapProfiles(runs(a), runs(b), (r) => num(r, key), finalEvalReward);
  const xs = [...new Set(profiles.flat().map((q) => q.x))].sort((u, v) => u - v);
  if (xs.length < 2) return missing(`two or more ${key} values with both methods`);
  return {
    result: bootstrapSlope(profiles, rng),
    detail: `${key} ${xs.join(", ")}; ${profiles.length} seed(s) with both methods`,
  };
}

function popgymClaims(env: string, sweep: LoadedSweep | undefined): ClaimResult[] {
  const sg = "sparsenet_sgprop_adaptive";
  const bp = "sparsenet_backprop";
  const envs = (n: number) => (r: LoadedRun) => num(r, "numEnvs") === n;
  const name = env === "escape" ? "LabyrinthEscape" : "LabyrinthExplore";
  return [
    claim(
      `popgym-${env}-sgprop-vs-backprop`,
      "Fig. 3, 7",
      `POPGym ${name}, 20 envs: SparseNet sgprop (adaptive theta) learns faster than SparseNet backprop at each method's best lr`,
      "difference of mean success AUC (success rate averaged over the batches), seeds resampled within each method",
      "positive",
      (rng) =>
        sweep === undefined
          ? missing(`paper-popgym-${env}`)
          : bestLrDifference(sweep, sg, bp, successAuc, rng, envs(20)),
    ),
    claim(
      `popgym-${env}-fewer-envs`,
      "Fig. 7",
      `POPGym ${name}: sgprop's advantage over backprop is larger with 20 envs than with 40`,
      "(sgprop - backprop success AUC at 20 envs) - (the same at 40 envs), each method at its best lr per env count; the four groups resampled independently",
      "positive",
      (rng) => {
        const groups = [20, 40].flatMap((n) => [
          atBest(sweep, sg, successAuc, envs(n)),
          atBest(sweep, bp, successAuc, envs(n)),
        ]);
        if (sweep === undefined || groups.some((g) => g === undefined))
          return missing(`paper-popgym-${env} runs with 20 and 40 envs`);
        const [a20, b20, a40, b40] = groups as { values: number[]; text: string }[];
        return {
          result: bootstrapGroups(
            [a20, b20, a40, b40].map((g) => (g as { values: number[] }).values),
            ([p, q, r, s]) => (p as number) - (q as number) - ((r as number) - (s as number)),
            rng,
          ),
          detail: `20 envs: ${a20?.text}, ${b20?.text}; 40 envs: ${a40?.text}, ${b40?.text}`,
        };
      },
    ),
  ];
}

/** Every claim the report checks, measured on the paper sweeps present (others: "not measured"). */
export function paperClaims(p: PaperSweeps): ClaimResult[] {
  const lr = p.banditLr;
  const finalDiff =
    (a: string, b: string): Measure =>
    (rng) =>
      lr === undefined ? missing("paper-bandit-lr") : bestLrDifference(lr, a, b, finalEvalReward, rng);
  const bestText =
    "difference of mean final eval reward (the last evaluation, step 1500 in the paper), each method at its best lr by that mean; seeds resampled within each method";
  const fixed =
    (theta: number): Measure =>
    (rng) => {
      const adaptive = runsOf(
        lr,
        "sparse_sgprop_adaptive",
        atLr(BANDIT_BASE_LR.sparse_sgprop_adaptive as number),
      );
      const fixedRuns = runsOf(
        p.banditFixedTheta,
        "sparse_sgprop_fixed_theta",
        (r) => num(r, "thetaInit") === theta,
      );
      if (adaptive.length === 0 || fixedRuns.length === 0)
        return missing("paper-bandit-lr (adaptive at lr 5e-3) and paper-bandit-fixed-theta");
      return {
        result: bootstrapDifference(adaptive.map(finalEvalReward), fixedRuns.map(finalEvalReward), rng),
        detail: `adaptive: ${adaptive.length} seed(s), theta ${theta}: ${fixedRuns.length} seed(s), both at lr 5e-3`,
      };
    };
  return [
    claim(
      "bandit-sgprop-vs-backprop",
      "Fig. 5, 6a",
      "MNIST bandit: SparseNet sgprop (adaptive theta) reaches a higher final eval reward than SparseNet backprop at each method's best lr",
      bestText,
      "positive",
      finalDiff("sparse_sgprop_adaptive", "sparse_backprop"),
    ),
    claim(
      "bandit-sgprop-vs-mlp",
      "Fig. 5, 6a",
      "MNIST bandit: SparseNet sgprop (adaptive theta) reaches a higher final eval reward than the MLP at each method's best lr",
      bestText,
      "positive",
      finalDiff("sparse_sgprop_adaptive", "mlp"),
    ),
    claim(
      "bandit-mlp-vs-backprop",
      "Fig. 5, 6a",
      "MNIST bandit: the MLP reaches a higher final eval reward than SparseNet backprop at each method's best lr",
      bestText,
      "positive",
      finalDiff("mlp", "sparse_backprop"),
    ),
    claim(
      "bandit-adaptive-vs-fixed-0.9",
      "Fig. 5, 6a",
      "MNIST bandit: adaptive theta reaches a higher final eval reward than theta fixed at 0.9, at each one's best lr",
      bestText,
      "positive",
      finalDiff("sparse_sgprop_adaptive", "sparse_sgprop_fixed_theta"),
    ),
    claim(
      "bandit-gap-grows-with-pflip",
      "Fig. 6b",
      "MNIST bandit: sgprop's advantage over SparseNet backprop grows with the reward noise pFlip",
      "least-squares slope against pFlip of the per-seed gap (sgprop adaptive - backprop final eval reward, same seed number, base lrs 5e-3 and 1e-3); seeds resampled whole",
      "positive",
      (rng) => ablationSlope(p, p.banditPflip, "pFlip", rng),
    ),
    claim(
      "bandit-fewer-parents-favour-sgprop",
      "Fig. 6c",
      "MNIST bandit: fewer parents per neuron favour sgprop (its advantage over backprop shrinks as parents grow)",
      "least-squares slope against the number of parents of the per-seed gap (sgprop adaptive - backprop final eval reward, base lrs); seeds resampled whole",
      "negative",
      (rng) => ablationSlope(p, p.banditParents, "numParents", rng),
    ),
    claim(
      "bandit-adaptive-vs-theta-0",
      "Fig. 2c",
      "MNIST bandit: adaptive theta beats theta fixed at 0 (synthetic gradients only)",
      "difference of mean final eval reward, adaptive minus fixed theta 0 (momentum 1.0), both at lr 5e-3; seeds resampled within each",
      "positive",
      fixed(0),
    ),
    claim(
      "bandit-adaptive-vs-theta-0.5",
      "Fig. 2c",
      "MNIST bandit: adaptive theta beats theta fixed at 0.5",
      "difference of mean final eval reward, adaptive minus fixed theta 0.5, both at lr 5e-3; seeds resampled within each",
      "positive",
      fixed(0.5),
    ),
    ...popgymClaims("escape", p.popgym.get("escape")),
    ...popgymClaims("explore", p.popgym.get("explore")),
  ];
}

function ciText(c: ClaimResult): string {
  if (c.result === undefined) return "-";
  const { lo, hi } = c.result.ci;
  return `[${formatNumber(lo)}, ${formatNumber(hi)}]`;
}

/** The claims table of report.md (one row per claim) and the rule under it. */
export function claimsMarkdown(claims: readonly ClaimResult[]): string[] {
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const rows = claims.map((c) =>
    [
      c.figure,
      c.statement,
      c.direction === "positive" ? "> 0" : "< 0",
      c.result === undefined ? "-" : formatNumber(c.result.effect),
      ciText(c),
      c.result === undefined ? "-" : c.result.seeds.join(" / "),
      `**${c.verdict}**`,
    ]
      .map(esc)
      .join(" | "),
  );
  const details = claims.map((c) => `- \`${c.id}\`: ${c.statistic}. Runs: ${c.detail}.`);
  return [
    "| figure | claim | claimed | effect | 95% CI | seeds | verdict |",
    "| --- | --- | :---: | ---: | ---: | ---: | --- |",
    ...rows.map((r) => `| ${r} |`),
    "",
    "Verdict rule: bootstrap over seeds (10,000 resamples, percentile interval); **supported** when the 95% " +
      "interval excludes 0 on the claimed side, **not supported** when it excludes 0 on the other side, " +
      "**inconclusive** otherwise or when a group has fewer than two seeds. Seeds are the runs' seed " +
      "numbers; methods with the same seed number share no random numbers, so differences resample each " +
      "method's seeds on its own, and slopes resample whole seeds.",
    "",
    "Statistics:",
    "",
    ...details,
  ];
}

/** One line per claim for the terminal. */
export function claimLine(c: ClaimResult): string {
  const effect =
    c.result === undefined ? "" : ` effect ${formatNumber(c.result.effect)}, 95% CI ${ciText(c)};`;
  return `[${c.verdict}] ${c.statement} (${c.figure});${effect} ${c.detail}`;
}
