/**
 * The contextual bandit as the trainer sees it. @sgprop/agents does not depend on environment
 * packages (SPEC 2), so this is a structural interface: `MnistBandit` from @sgprop/mnist-bandit
 * satisfies it, and tests use a small synthetic bandit.
 */
import type { Rng } from "@sgprop/gym";

/** A reusable batch of contexts, refilled in place by {@link ContextualBandit.sample}. */
export interface ContextBatchLike {
  readonly size: number;
  /** Values per context (784 for MNIST). */
  readonly contextSize: number;
  /** [size, contextSize] row-major contexts. */
  readonly contexts: Float32Array;
}

/** What a policy returns to the bandit's evaluation: a [B, numActions] probability table. */
export interface PolicyProbabilities {
  readonly probabilities: ArrayLike<number>;
}

/** The evaluation result; `sampledReward` is the paper's metric (one sampled action per context). */
export interface BanditEvaluation {
  readonly sampledReward: number;
  readonly expectedReward: number;
}

export interface ContextualBandit {
  readonly numActions: number;
  readonly contextSize: number;
  /** A batch of `size` contexts to be filled by {@link sample}. */
  createBatch(size: number): ContextBatchLike;
  /** Refills `batch` with fresh training contexts. */
  sample(batch: ContextBatchLike): ContextBatchLike;
  /** Training rewards (noisy) of `actions` on `batch`. */
  score(batch: ContextBatchLike, actions: ArrayLike<number>, out?: Float32Array): Float32Array;
  /** Noiseless evaluation on `n` held-out contexts, sampling one action per context. */
  evaluate(
    policy: (batch: ContextBatchLike) => PolicyProbabilities | Promise<PolicyProbabilities>,
    options?: { n?: number },
  ): Promise<BanditEvaluation>;
  /**
   * {@link sample} from a caller's stream, leaving the bandit's own untouched: the gradient
   * diagnosis (`sgprop diagnose`, `--during-training`) draws its pool this way, so a run's
   * training numbers do not depend on whether it is diagnosed.
   */
  sampleFrom?(batch: ContextBatchLike, rng: Rng): ContextBatchLike;
  /** {@link score} (noisy training rewards) with a caller's stream for the reward noise. */
  scoreFrom?(batch: ContextBatchLike, actions: ArrayLike<number>, rng: Rng): Float32Array;
  /** JSON-able generator states, for checkpoints. */
  state(): unknown;
  setState(state: unknown): void;
}

/** Options the trainer passes to a bandit factory (the bandit's part of {@link BanditTrainOptions}). */
export interface BanditEnvOptions {
  readonly seed: number;
  readonly pFlip: number;
  readonly classes: readonly number[];
  readonly dataDir?: string;
}

/** Builds the bandit of a run, e.g. `(o) => new MnistBandit(o)` in apps/train. */
export type BanditFactory = (options: BanditEnvOptions) => ContextualBandit;
