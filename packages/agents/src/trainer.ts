/**
 * The contract between trainers (bandit, POPGym) and apps/train, which turns trainers into runs
 * (progress, metrics.csv, checkpoints, resume, sweeps).
 */

/** One row of metrics; names are namespaced like CleanRL: "charts/", "losses/", "sgprop/", "eval/". */
export type MetricsRow = Readonly<Record<string, number>>;

/** The rows produced by one training unit; `eval` only at scheduled evaluation steps. */
export interface TrainerRows {
  readonly train: MetricsRow;
  readonly eval?: MetricsRow;
}

/** A resumable training run, advanced one unit at a time. */
export interface Trainer {
  /** Completed units (bandit: policy steps; POPGym: batches). */
  readonly completed: number;
  /** Total units this run will do. */
  readonly total: number;
  /**
   * Runs one unit (one bandit training step, with its evaluation if scheduled; one POPGym batch)
   * and returns the rows it produced.
   */
  next(): Promise<TrainerRows>;
  /**
   * Writes everything needed to continue bit-for-bit (parameters, optimiser moments and step
   * counters, theta, connectivity, RNG states, counters) into `dir`, atomically: a temporary folder
   * is written and then renamed.
   */
  saveCheckpoint(dir: string): Promise<void>;
  /** Releases every tensor the trainer holds. */
  dispose(): void;
}

/** Thrown when a non-finite value appears during training; names the step and the tensor. */
export class NonFiniteError extends Error {
  constructor(
    readonly step: number,
    readonly tensorName: string,
  ) {
    super(`non-finite value (NaN or Inf) in ${tensorName} at training step ${step}`);
    this.name = "NonFiniteError";
  }
}
