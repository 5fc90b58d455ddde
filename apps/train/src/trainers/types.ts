// The Trainer contract of @sgprop/agents (see the agents README). Mirrored here so that the harness
// builds and is tested before, and independently of, the real trainers.

/** One row of metrics; names are namespaced like CleanRL: "charts/", "losses/", "sgprop/", "eval/". */
export type MetricsRow = Readonly<Record<string, number>>;

export interface TrainerRows {
  readonly train: MetricsRow;
  readonly eval?: MetricsRow;
}

export interface Trainer {
  /** Completed units (bandit: policy steps; POPGym: batches). */
  readonly completed: number;
  /** Total units of the run. */
  readonly total: number;
  next(): Promise<TrainerRows>;
  /** Writes everything needed to continue bit-for-bit into `dir` (atomically). */
  saveCheckpoint(dir: string): Promise<void>;
  dispose(): void;
}

export type TrainerOptions = Readonly<Record<string, unknown>>;

export interface TrainerFactory {
  /** "agents" for @sgprop/agents, "fake" for the harness's test double. */
  readonly implementation: string;
  create(options: TrainerOptions): Promise<Trainer>;
  restore(checkpointDir: string, options: TrainerOptions): Promise<Trainer>;
  /** The tfjs backend actually in use, when the implementation knows it. */
  backend?(): string | undefined;
}
