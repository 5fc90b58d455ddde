import { Rng } from "@sgprop/gym";
import { ExpertSimConfigError, requireInteger } from "./errors.js";
import {
  assertTableFallback,
  fitSyntheticTables,
  predictSyntheticFeedback,
  type TableFallback,
} from "./estimators.js";
import {
  assertFeedbackCase,
  FEEDBACK_CASES,
  type FeedbackCase,
  type NoiseLevels,
  sampleMeanFeedback,
  validateNoise,
} from "./feedback.js";
import { feedbackGram, squaredGradientError } from "./gradient.js";
import {
  cleanFeedback,
  createProblem,
  type ExpertProblem,
  type ProblemShape,
  tableKeys,
  validateShape,
} from "./problem.js";
import { deriveSeed } from "./seeds.js";
import { bootstrapRatio, meanAndStandardError } from "./statistics.js";

/** Options of a sweep; {@link PAPER_DEFAULTS} holds the values of the paper (Appendix H.1). */
export interface ExpertSimOptions extends NoiseLevels {
  /** Input dimensions d to sweep (each gives 2^d partitions). */
  readonly dims: readonly number[];
  /** Coordinates per expert k to sweep; pairs with k > d are skipped and reported. */
  readonly ks: readonly number[];
  /** Number of experts, or "d" for one expert per input dimension. */
  readonly m: number | "d";
  /** Observations per partition n to sweep (the sample size is n * 2^d). */
  readonly sampleSizes: readonly number[];
  /** Monte Carlo trials per (case, d, k, n) cell and problem; each redraws the feedback, not the problem. */
  readonly trials: number;
  /**
   * Independent problem draws (Jacobians, experts, targets) per (d, k); 1 in the paper. The
   * expected ratio is exactly 2^(d-k) for every draw (test/ratio.test.ts), so more draws only add
   * trials; with more than one, the bootstrap resamples whole problems (each with its trials).
   */
  readonly problems: number;
  /** Feedback cases to run. */
  readonly cases: readonly FeedbackCase[];
  /** Paired bootstrap resamples for the ratio's interval (0 or 1 disables it). */
  readonly bootstrapResamples: number;
  /** Coverage of the bootstrap percentile interval. */
  readonly confidenceLevel: number;
  /** Table value for keys nobody observed (never needed in the balanced design). */
  readonly fallback: TableFallback;
  /** Base seed; every problem, trial stream and bootstrap stream is derived from it. */
  readonly seed: number;
}

export const PAPER_DEFAULTS: ExpertSimOptions = Object.freeze({
  dims: Object.freeze([4, 5, 6, 7, 8, 9, 10, 11, 12]),
  ks: Object.freeze([2, 3, 4]),
  m: 5,
  sampleSizes: Object.freeze([1, 2, 3, 4]),
  trials: 20,
  problems: 1,
  sigma: 0.5,
  p: 0.5,
  tau: 0.5,
  cases: FEEDBACK_CASES,
  bootstrapResamples: 500,
  confidenceLevel: 0.95,
  fallback: "global-mean",
  seed: 0,
});

/** One row of results: a (case, d, k, n) cell. Field names are the same in CSV, JSON and plots. */
export interface ExpertSimRow {
  readonly case: FeedbackCase;
  readonly d: number;
  readonly k: number;
  readonly m: number;
  readonly n: number;
  /** n * 2^d observations per trial. */
  readonly totalSamples: number;
  readonly trials: number;
  /** Problem draws pooled in this row. */
  readonly problems: number;
  /** Mean over trials of ||g_bp - g||^2. */
  readonly mseBackprop: number;
  /** Mean over trials of ||g_sg - g||^2. */
  readonly mseSynthetic: number;
  readonly seBackprop: number;
  readonly seSynthetic: number;
  /** mseBackprop / mseSynthetic. */
  readonly ratio: number;
  readonly ratioSe: number;
  readonly ratioCiLow: number;
  readonly ratioCiHigh: number;
  /** Theorem 5's prediction 2^(d - k). */
  readonly theory: number;
}

export const ROW_FIELDS: readonly (keyof ExpertSimRow)[] = [
  "case",
  "d",
  "k",
  "m",
  "n",
  "totalSamples",
  "trials",
  "problems",
  "mseBackprop",
  "mseSynthetic",
  "seBackprop",
  "seSynthetic",
  "ratio",
  "ratioSe",
  "ratioCiLow",
  "ratioCiHigh",
  "theory",
];

/** A problem with everything the trials reuse: clean feedback, table keys and feedback Gram matrices. */
export interface PreparedProblem {
  readonly problem: ExpertProblem;
  /** [R, m] clean feedback. */
  readonly clean: Float64Array;
  /** [R, m] table keys. */
  readonly keys: Int32Array;
  /** [R, m, m] see {@link feedbackGram}. */
  readonly gram: Float64Array;
}

export function prepareProblem(problem: ExpertProblem): PreparedProblem {
  return { problem, clean: cleanFeedback(problem), keys: tableKeys(problem), gram: feedbackGram(problem) };
}

/**
 * Problem draw `index` of a sweep's (d, k) pair: it depends on (seed, d, k, m, index) only, not on
 * the case or n, so every cell of the pair sees the same network.
 */
export function sweepProblem(shape: ProblemShape, seed: number, index = 0): PreparedProblem {
  const parts = index === 0 ? [1, shape.d, shape.k, shape.m] : [1, shape.d, shape.k, shape.m, index];
  return prepareProblem(createProblem(shape, Rng.fromSeed(deriveSeed(seed, ...parts))));
}

export interface TrialErrors {
  /** Squared gradient error of backpropagation, per trial. */
  readonly backprop: Float64Array;
  /** Squared gradient error of synthetic gradients, per trial. */
  readonly synthetic: Float64Array;
}

/**
 * Runs `trials` independent feedback draws (n observations of every partition each) and returns
 * both estimators' squared gradient errors against the exact population gradient.
 */
export function runTrials(
  prepared: PreparedProblem,
  feedbackCase: FeedbackCase,
  n: number,
  trials: number,
  noise: NoiseLevels,
  rng: Rng,
  fallback: TableFallback = "global-mean",
): TrialErrors {
  assertFeedbackCase(feedbackCase);
  validateNoise(noise);
  requireInteger("n", n, 1);
  requireInteger("trials", trials, 1);
  const { problem, clean, keys, gram } = prepared;
  const { m, k } = problem;
  const mean = new Float64Array(clean.length);
  const predicted = new Float64Array(clean.length);
  const error = new Float64Array(clean.length);
  const backprop = new Float64Array(trials);
  const synthetic = new Float64Array(trials);
  for (let t = 0; t < trials; t++) {
    sampleMeanFeedback(problem, clean, n, feedbackCase, noise, rng, mean);
    for (let i = 0; i < error.length; i++) error[i] = mean[i]! - clean[i]!;
    backprop[t] = squaredGradientError(gram, error, m);
    const tables = fitSyntheticTables(mean, keys, m, k, fallback);
    predictSyntheticFeedback(tables, keys, m, k, predicted);
    for (let i = 0; i < error.length; i++) error[i] = predicted[i]! - clean[i]!;
    synthetic[t] = squaredGradientError(gram, error, m);
  }
  return { backprop, synthetic };
}

/** Checks every option and returns a complete options object (defaults filled in). */
export function resolveOptions(options: Partial<ExpertSimOptions> = {}): ExpertSimOptions {
  const o: ExpertSimOptions = { ...PAPER_DEFAULTS, ...stripUndefined(options) };
  const list = (name: string, values: readonly number[], min: number) => {
    if (!Array.isArray(values) || values.length === 0) {
      throw new ExpertSimConfigError(name, values, "must be a non-empty list");
    }
    values.forEach((v, i) => {
      requireInteger(`${name}[${i}]`, v, min);
    });
  };
  list("dims", o.dims, 1);
  list("ks", o.ks, 1);
  list("sampleSizes", o.sampleSizes, 1);
  if (o.m !== "d") requireInteger("m", o.m, 1);
  requireInteger("trials", o.trials, 1);
  requireInteger("problems", o.problems, 1);
  validateNoise(o);
  if (!Array.isArray(o.cases) || o.cases.length === 0) {
    throw new ExpertSimConfigError("cases", o.cases, "must be a non-empty list");
  }
  for (const c of o.cases) assertFeedbackCase(c);
  requireInteger("bootstrapResamples", o.bootstrapResamples, 0);
  if (!(o.confidenceLevel > 0 && o.confidenceLevel < 1)) {
    throw new ExpertSimConfigError("confidenceLevel", o.confidenceLevel, "must be in (0, 1)");
  }
  assertTableFallback(o.fallback);
  requireInteger("seed", o.seed, 0);
  const pairs = sweepPairs(o);
  if (pairs.run.length === 0) {
    throw new ExpertSimConfigError("ks", o.ks, `must contain some k <= d for dims ${JSON.stringify(o.dims)}`);
  }
  for (const shape of pairs.run) validateShape(shape);
  return o;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The (d, k) pairs a sweep runs, in run order (k outer, d inner), and those skipped because k > d. */
export function sweepPairs(options: Pick<ExpertSimOptions, "dims" | "ks" | "m">): {
  run: ProblemShape[];
  skipped: { d: number; k: number }[];
} {
  const run: ProblemShape[] = [];
  const skipped: { d: number; k: number }[] = [];
  for (const k of options.ks) {
    for (const d of options.dims) {
      if (k > d) skipped.push({ d, k });
      else run.push({ d, k, m: options.m === "d" ? d : options.m });
    }
  }
  return { run, skipped };
}

function meanOf(values: Float64Array): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/**
 * Runs one (case, d, k, n) cell on one or more prepared problems of the same shape and summarises
 * it. `errors` holds the trials of problem 0 first, then problem 1, and so on.
 */
export function runCell(
  prepared: PreparedProblem | readonly PreparedProblem[],
  feedbackCase: FeedbackCase,
  n: number,
  options: Pick<
    ExpertSimOptions,
    "trials" | "sigma" | "p" | "tau" | "bootstrapResamples" | "confidenceLevel" | "fallback" | "seed"
  >,
): { row: ExpertSimRow; errors: TrialErrors } {
  const draws: readonly PreparedProblem[] = Array.isArray(prepared)
    ? prepared
    : [prepared as PreparedProblem];
  if (draws.length === 0) throw new ExpertSimConfigError("prepared", draws, "must hold at least one problem");
  const { d, k, m, partitions } = draws[0]!.problem;
  const caseIndex = FEEDBACK_CASES.indexOf(feedbackCase);
  const { trials } = options;
  const backprop = new Float64Array(draws.length * trials);
  const synthetic = new Float64Array(draws.length * trials);
  const perProblem = { backprop: new Float64Array(draws.length), synthetic: new Float64Array(draws.length) };
  draws.forEach((draw, q) => {
    const shape = draw.problem;
    if (shape.d !== d || shape.k !== k || shape.m !== m) {
      throw new ExpertSimConfigError(
        "prepared",
        `d=${shape.d} k=${shape.k} m=${shape.m}`,
        `must all share d=${d} k=${k} m=${m}`,
      );
    }
    const parts = q === 0 ? [2, d, k, m, caseIndex, n] : [2, d, k, m, caseIndex, n, q];
    const trialRng = Rng.fromSeed(deriveSeed(options.seed, ...parts));
    const e = runTrials(draw, feedbackCase, n, trials, options, trialRng, options.fallback);
    backprop.set(e.backprop, q * trials);
    synthetic.set(e.synthetic, q * trials);
    perProblem.backprop[q] = meanOf(e.backprop);
    perProblem.synthetic[q] = meanOf(e.synthetic);
  });
  // With several problems the trials are not exchangeable (they share a network): resample
  // problems, which carries both the Jacobian and the feedback spread into the interval.
  const units = draws.length > 1 ? perProblem : { backprop, synthetic };
  const bp = meanAndStandardError(units.backprop);
  const sg = meanAndStandardError(units.synthetic);
  const bootRng = Rng.fromSeed(deriveSeed(options.seed, 3, d, k, m, caseIndex, n));
  const summary = bootstrapRatio(
    units.backprop,
    units.synthetic,
    options.bootstrapResamples,
    bootRng,
    options.confidenceLevel,
  );
  return {
    errors: { backprop, synthetic },
    row: {
      case: feedbackCase,
      d,
      k,
      m,
      n,
      totalSamples: n * partitions,
      trials,
      problems: draws.length,
      mseBackprop: bp.mean,
      mseSynthetic: sg.mean,
      seBackprop: bp.se,
      seSynthetic: sg.se,
      ratio: summary.ratio,
      ratioSe: summary.se,
      ratioCiLow: summary.ciLow,
      ratioCiHigh: summary.ciHigh,
      theory: 2 ** (d - k),
    },
  };
}

export interface ExpertSimResult {
  readonly options: ExpertSimOptions;
  readonly rows: readonly ExpertSimRow[];
  /** (d, k) pairs left out because k > d. */
  readonly skipped: readonly { d: number; k: number }[];
  readonly seconds: number;
}

/**
 * The full sweep: for each k, d (k <= d) `problems` problem draws, then for each case and n a cell of Monte
 * Carlo trials with a bootstrap interval. `onRow` sees each row as soon as it exists.
 */
export function runExpertSim(
  options: Partial<ExpertSimOptions> = {},
  onRow?: (row: ExpertSimRow) => void,
): ExpertSimResult {
  const resolved = resolveOptions(options);
  const start = performance.now();
  const { run, skipped } = sweepPairs(resolved);
  const rows: ExpertSimRow[] = [];
  for (const shape of run) {
    const prepared = Array.from({ length: resolved.problems }, (_, q) =>
      sweepProblem(shape, resolved.seed, q),
    );
    for (const feedbackCase of resolved.cases) {
      for (const n of resolved.sampleSizes) {
        const { row } = runCell(prepared, feedbackCase, n, resolved);
        rows.push(row);
        onRow?.(row);
      }
    }
  }
  return { options: resolved, rows, skipped, seconds: (performance.now() - start) / 1000 };
}
