// The Trainer contract is owned by @sgprop/agents (packages/agents/src/trainer.ts); the harness
// and its fake trainer are written against it.
import type { Trainer } from "@sgprop/agents";

export type { MetricsRow, Trainer, TrainerRows } from "@sgprop/agents";

export type TrainerOptions = Readonly<Record<string, unknown>>;

export interface TrainerFactory {
  /** "agents" for @sgprop/agents, "dni" for @sgprop/dni, "fake" for the harness's test double. */
  readonly implementation: string;
  create(options: TrainerOptions): Promise<Trainer>;
  restore(checkpointDir: string, options: TrainerOptions): Promise<Trainer>;
  /** The tfjs backend actually in use, when the implementation knows it. */
  backend?(): string | undefined;
}
