import type { TrainKind } from "../options/presets.js";
import type { ResolvedOptions } from "../options/resolve.js";

/** A run handed to a worker thread. */
export interface RunTask {
  readonly sweepName: string;
  readonly runId: string;
  readonly method: string;
  readonly params: Record<string, unknown>;
  readonly dir: string;
  readonly kind: TrainKind;
  readonly options: ResolvedOptions;
  readonly checkpointEvery: number;
  readonly keepCheckpoints: number;
}

export type WorkerMessage =
  | { readonly type: "ready" }
  | { readonly type: "started"; readonly runId: string; readonly completed: number; readonly total: number }
  | {
      readonly type: "progress";
      readonly runId: string;
      readonly completed: number;
      readonly total: number;
      readonly metrics: Record<string, number>;
    }
  | { readonly type: "done"; readonly runId: string; readonly seconds: number; readonly skipped: boolean }
  | { readonly type: "interrupted"; readonly runId: string; readonly completed: number }
  | { readonly type: "failed"; readonly runId: string; readonly error: string; readonly stack?: string };

/** `stop`: finish the current unit, checkpoint, report `interrupted` (SIGINT/SIGTERM of the sweep). */
export type MainMessage =
  | { readonly type: "run"; readonly task: RunTask }
  | { readonly type: "stop" }
  | { readonly type: "exit" };
