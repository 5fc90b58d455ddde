import { Rng } from "@sgprop/gym";
import type {
  BanditEvaluation,
  ContextBatchLike,
  ContextualBandit,
  PolicyProbabilities,
} from "../../src/bandit/types.js";

interface Batch extends ContextBatchLike {
  readonly labels: Int32Array;
}

/**
 * A tiny learnable bandit for tests: the context is a noisy copy of one of `numActions` fixed
 * prototypes; the reward is 1 for the prototype's index, flipped with probability pFlip.
 */
export class SyntheticBandit implements ContextualBandit {
  readonly numActions: number;
  readonly contextSize: number;
  private readonly prototypes: Float32Array;
  private contextRng: Rng;
  private noiseRng: Rng;
  private evalRng: Rng;
  /** When set, score() returns NaN rewards from this many calls on (to test NaN detection). */
  nanAfterCalls = Number.POSITIVE_INFINITY;
  private calls = 0;

  constructor(readonly options: { seed: number; pFlip: number; numActions?: number; contextSize?: number }) {
    this.numActions = options.numActions ?? 3;
    this.contextSize = options.contextSize ?? 24;
    const protoRng = Rng.fromSeed(12345);
    this.prototypes = Float32Array.from({ length: this.numActions * this.contextSize }, () =>
      protoRng.normal(),
    );
    this.contextRng = Rng.derive(options.seed, "test/synthetic-bandit/contexts");
    this.noiseRng = Rng.derive(options.seed, "test/synthetic-bandit/reward-noise");
    this.evalRng = Rng.derive(options.seed, "test/synthetic-bandit/evaluation");
  }

  createBatch(size: number): Batch {
    return {
      size,
      contextSize: this.contextSize,
      contexts: new Float32Array(size * this.contextSize),
      labels: new Int32Array(size),
    };
  }

  private fill(batch: Batch, rng: Rng): Batch {
    for (let b = 0; b < batch.size; b++) {
      const label = rng.integer(0, this.numActions - 1);
      batch.labels[b] = label;
      for (let j = 0; j < this.contextSize; j++) {
        batch.contexts[b * this.contextSize + j] =
          (this.prototypes[label * this.contextSize + j] as number) + 0.5 * rng.normal();
      }
    }
    return batch;
  }

  sample(batch: ContextBatchLike): ContextBatchLike {
    return this.fill(batch as Batch, this.contextRng);
  }

  sampleFrom(batch: ContextBatchLike, rng: Rng): ContextBatchLike {
    return this.fill(batch as Batch, rng);
  }

  score(
    batch: ContextBatchLike,
    actions: ArrayLike<number>,
    out = new Float32Array(batch.size),
  ): Float32Array {
    this.calls++;
    this.scoreWith(batch, actions, this.noiseRng, out);
    if (this.calls > this.nanAfterCalls) out.fill(Number.NaN);
    return out;
  }

  scoreFrom(batch: ContextBatchLike, actions: ArrayLike<number>, rng: Rng): Float32Array {
    return this.scoreWith(batch, actions, rng, new Float32Array(batch.size));
  }

  private scoreWith(batch: ContextBatchLike, actions: ArrayLike<number>, rng: Rng, out: Float32Array) {
    const labels = (batch as Batch).labels;
    for (let b = 0; b < batch.size; b++) {
      let r = actions[b] === labels[b] ? 1 : 0;
      if (rng.float() < this.options.pFlip) r = 1 - r;
      out[b] = r;
    }
    return out;
  }

  async evaluate(
    policy: (batch: ContextBatchLike) => PolicyProbabilities | Promise<PolicyProbabilities>,
    options: { n?: number } = {},
  ): Promise<BanditEvaluation> {
    const batch = this.fill(this.createBatch(options.n ?? 100), this.evalRng);
    const { probabilities } = await policy(batch);
    let expected = 0;
    let sampled = 0;
    for (let b = 0; b < batch.size; b++) {
      const label = batch.labels[b] as number;
      expected += probabilities[b * this.numActions + label] as number;
      const u = this.evalRng.float();
      let acc = 0;
      let a = this.numActions - 1;
      for (let j = 0; j < this.numActions; j++) {
        acc += probabilities[b * this.numActions + j] as number;
        if (u < acc) {
          a = j;
          break;
        }
      }
      if (a === label) sampled++;
    }
    return { expectedReward: expected / batch.size, sampledReward: sampled / batch.size };
  }

  state(): unknown {
    return {
      c: this.contextRng.state(),
      n: this.noiseRng.state(),
      e: this.evalRng.state(),
      calls: this.calls,
    };
  }

  setState(state: unknown): void {
    const s = state as { c: number[]; n: number[]; e: number[]; calls: number };
    this.contextRng = Rng.fromState(s.c);
    this.noiseRng = Rng.fromState(s.n);
    this.evalRng = Rng.fromState(s.e);
    this.calls = s.calls;
  }
}

/** A small SparseNet configuration for trainer tests. */
export const TINY_SPARSE = {
  numLayers: 3,
  width: 8,
  neuronDim: 2,
  numSlots: 3,
  numParents: 3,
  batchSize: 16,
  evalBatchSize: 50,
} as const;
