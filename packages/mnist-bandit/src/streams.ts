/**
 * The random streams of an MnistBandit, each derived from the user's seed and its own purpose name
 * (`Rng.derive(seed, name)`), so they cannot share numbers with each other or with a trainer's
 * streams (named "agents/..."). This file is the one place the names live.
 */
export const MNIST_BANDIT_STREAMS = {
  /** Which training contexts a batch holds (uniform, with replacement). */
  contexts: "mnist-bandit/contexts",
  /** Whether each training reward is flipped (probability pFlip). */
  rewardNoise: "mnist-bandit/reward-noise",
  /** Which test contexts an evaluation draws. */
  evaluation: "mnist-bandit/evaluation",
} as const;
