import { Rng } from "@sgprop/gym";
import { InvalidOptionError } from "./errors.js";
import { classSubset, DEFAULT_CLASSES } from "./preprocess.js";
import { assertActions } from "./reward.js";
import { type ContextBatch, ContextSampler, createContextBatch } from "./sampler.js";
import { type DataSourceOptions, resolveDataset } from "./source.js";
import { MNIST_BANDIT_STREAMS } from "./streams.js";

/**
 * What a policy returns for a batch: either a [B, numActions] row-major table of action
 * probabilities, or B actions it sampled itself.
 */
export type PolicyOutput = { probabilities: ArrayLike<number> } | { actions: ArrayLike<number> };

/** A policy maps a batch of contexts to action probabilities or actions (async allowed, e.g. tfjs `data()`). */
export type BanditPolicy = (batch: ContextBatch) => PolicyOutput | Promise<PolicyOutput>;

export interface EvaluationOptions {
  /** Held-out contexts, drawn uniformly with replacement from the test split. Default 4000 (the paper). */
  n?: number;
  /** Contexts per policy call. Default: all n at once, as the paper does. */
  batchSize?: number;
  /** Generator for the contexts (and for sampling actions from probabilities); consumed. */
  rng?: Rng;
  /** Used when no `rng` is given. Default 0, so repeated calls see the same contexts. */
  seed?: number;
}

export interface EvaluationResult {
  /** Mean over contexts of the probability of the correct action (the indicator for sampled actions). */
  readonly expectedReward: number;
  /** Mean noiseless reward of one action per context (drawn from the probabilities): the paper's metric. */
  readonly sampledReward: number;
  /** Number of contexts evaluated. */
  readonly n: number;
}

const PROBABILITY_TOLERANCE = 1e-3;

/** Draws an action from row `b` of a probability table by inverting its cumulative sum. */
function sampleRow(probabilities: ArrayLike<number>, b: number, numActions: number, u: number): number {
  let total = 0;
  for (let a = 0; a < numActions; a++) total += probabilities[b * numActions + a] as number;
  let acc = 0;
  const target = u * total;
  for (let a = 0; a < numActions; a++) {
    acc += probabilities[b * numActions + a] as number;
    if (target < acc) return a;
  }
  return numActions - 1;
}

function checkProbabilities(probabilities: ArrayLike<number>, size: number, numActions: number): void {
  if (probabilities.length !== size * numActions) {
    throw new InvalidOptionError("probabilities.length", probabilities.length, `${size} x ${numActions}`);
  }
  for (let b = 0; b < size; b++) {
    let sum = 0;
    for (let a = 0; a < numActions; a++) {
      const p = probabilities[b * numActions + a] as number;
      if (!(p >= 0 && p <= 1 + PROBABILITY_TOLERANCE)) {
        throw new InvalidOptionError(`probabilities[${b}, ${a}]`, p, "a probability in [0, 1]");
      }
      sum += p;
    }
    if (Math.abs(sum - 1) > PROBABILITY_TOLERANCE) {
      throw new InvalidOptionError(`sum of probabilities[${b}, :]`, sum, "1");
    }
  }
}

/**
 * Expected noiseless reward of `policy` on `n` contexts drawn with replacement from the test split
 * of `sampler` (built with the bandit's class subset).
 */
export async function evaluateOnSampler(
  policy: BanditPolicy,
  sampler: ContextSampler,
  numActions: number,
  options: EvaluationOptions = {},
): Promise<EvaluationResult> {
  const n = options.n ?? 4000;
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidOptionError("n", n, "an integer >= 1");
  const batchSize = options.batchSize ?? n;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new InvalidOptionError("batchSize", batchSize, "an integer >= 1");
  }
  const rng = options.rng ?? Rng.derive(options.seed ?? 0, MNIST_BANDIT_STREAMS.evaluation);
  let expected = 0;
  let sampled = 0;
  let done = 0;
  let batch = createContextBatch(Math.min(batchSize, n), sampler.contextSize);
  while (done < n) {
    const size = Math.min(batchSize, n - done);
    if (size !== batch.size) batch = createContextBatch(size, sampler.contextSize);
    sampler.sample(batch, rng);
    const output = await policy(batch);
    if ("probabilities" in output) {
      const p = output.probabilities;
      checkProbabilities(p, size, numActions);
      for (let b = 0; b < size; b++) {
        const label = batch.labels[b] as number;
        expected += p[b * numActions + label] as number;
        if (sampleRow(p, b, numActions, rng.float()) === label) sampled += 1;
      }
    } else {
      assertActions(output.actions, size, numActions);
      for (let b = 0; b < size; b++) {
        const hit = output.actions[b] === batch.labels[b] ? 1 : 0;
        expected += hit;
        sampled += hit;
      }
    }
    done += size;
  }
  return { expectedReward: expected / n, sampledReward: sampled / n, n };
}

/**
 * Evaluates a policy on the held-out (test) split of `dataset` (or of the IDX files in `dataDir`;
 * default: the bundled digits) restricted to `classes` (default: the paper's nine). Seeded:
 * `seed` (default 0) or `rng`.
 */
export async function evaluatePolicy(
  policy: BanditPolicy,
  options: EvaluationOptions & DataSourceOptions & { classes?: readonly number[] } = {},
): Promise<EvaluationResult> {
  const dataset = resolveDataset(options);
  const subset = classSubset(options.classes ?? DEFAULT_CLASSES, dataset.numClasses);
  const sampler = new ContextSampler(dataset.test, subset, "test");
  return evaluateOnSampler(policy, sampler, subset.classes.length, options);
}
