import type { NamedTensorData, TrainerRows } from "@sgprop/agents";

/** What an experiment keeps between units, and how it goes into a checkpoint. */
export interface ExperimentState {
  readonly total: number;
  next(completed: number): TrainerRows;
  tensors(): Record<string, NamedTensorData>;
  meta(): unknown;
  load(tensors: Readonly<Record<string, NamedTensorData>>, meta: unknown): void;
  dispose(): void;
}
