import type { Rng } from "@sgprop/gym";
import { ExpertSimConfigError, requireInteger, requireLength, requireNonNegative } from "./errors.js";
import type { ExpertProblem } from "./problem.js";

/**
 * The three stochastic-feedback cases of Section 5:
 * - `noisy`: each observation is the clean feedback plus N(0, sigma^2) noise;
 * - `activation`: the expert fires with probability p and its feedback is rescaled by 1/p
 *   (Bernoulli(p) * clean / p), so it stays unbiased;
 * - `partial`: the feedback depends on a hidden variable z ~ N(0, tau^2) the expert cannot see,
 *   observation = clean - alpha_j z, with a fixed loading alpha_j per expert.
 */
export type FeedbackCase = "noisy" | "activation" | "partial";

export const FEEDBACK_CASES: readonly FeedbackCase[] = ["noisy", "activation", "partial"];

export const FEEDBACK_CASE_LABELS: Readonly<Record<FeedbackCase, string>> = {
  noisy: "Case 1: noisy feedback",
  activation: "Case 2: stochastic activation",
  partial: "Case 3: partial observation",
};

export interface NoiseLevels {
  /** Feedback noise standard deviation of the `noisy` case (>= 0). */
  readonly sigma: number;
  /** Activation probability of the `activation` case, in (0, 1]. */
  readonly p: number;
  /** Standard deviation of the hidden variable of the `partial` case (>= 0). */
  readonly tau: number;
}

export function validateNoise({ sigma, p, tau }: NoiseLevels): void {
  requireNonNegative("sigma", sigma);
  if (typeof p !== "number" || !(p > 0 && p <= 1))
    throw new ExpertSimConfigError("p", p, "must be in (0, 1]");
  requireNonNegative("tau", tau);
}

export function assertFeedbackCase(value: unknown): asserts value is FeedbackCase {
  if (!FEEDBACK_CASES.includes(value as FeedbackCase)) {
    throw new ExpertSimConfigError("case", value, `must be one of ${FEEDBACK_CASES.join(", ")}`);
  }
}

/** Binomial(n, p) as a sum of n Bernoulli draws: O(n), the cost of actually observing n samples. */
function binomial(rng: Rng, n: number, p: number): number {
  if (p === 1) return n;
  let hits = 0;
  for (let i = 0; i < n; i++) if (rng.float() < p) hits++;
  return hits;
}

/**
 * Fills `out` ([R, m]) with the mean of n independent feedback observations per partition and
 * expert. The mean is drawn directly from its exact distribution (the sufficient statistic)
 * rather than from n separate draws: N(c, sigma^2/n), c * Binomial(n, p)/(n p), and
 * c - alpha_j N(0, tau^2/n). The hidden variable of the partial case is drawn independently per
 * partition and expert, as in the paper's simulation.
 */
export function sampleMeanFeedback(
  problem: ExpertProblem,
  clean: Float64Array,
  n: number,
  feedbackCase: FeedbackCase,
  noise: NoiseLevels,
  rng: Rng,
  out: Float64Array = new Float64Array(clean.length),
): Float64Array {
  requireInteger("n", n, 1);
  validateNoise(noise);
  const { m, partitions } = problem;
  requireLength("clean", clean.length, partitions * m, "partitions x experts");
  requireLength("out", out.length, clean.length, "the length of clean");
  switch (feedbackCase) {
    case "noisy": {
      const std = noise.sigma / Math.sqrt(n);
      for (let i = 0; i < clean.length; i++) out[i] = clean[i]! + rng.normal(0, std);
      return out;
    }
    case "activation": {
      const scale = 1 / (n * noise.p);
      for (let i = 0; i < clean.length; i++) out[i] = clean[i]! * binomial(rng, n, noise.p) * scale;
      return out;
    }
    case "partial": {
      const std = noise.tau / Math.sqrt(n);
      const loadings = problem.partialLoadings;
      for (let i = 0; i < clean.length; i++) out[i] = clean[i]! - loadings[i % m]! * rng.normal(0, std);
      return out;
    }
    default:
      assertFeedbackCase(feedbackCase);
      return out;
  }
}
