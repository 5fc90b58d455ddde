import type { Worker } from "node:worker_threads";
import type { MainMessage, RunTask, WorkerMessage } from "../sweep/messages.js";
import { createWorker } from "../sweep/run-sweep.js";

/** How a run handed to a thread ended. */
export type RunOutcome =
  | { readonly type: "done"; readonly seconds: number; readonly skipped: boolean }
  | { readonly type: "interrupted"; readonly completed: number }
  | { readonly type: "failed"; readonly error: string; readonly stack?: string };

export interface RunEvents {
  onStarted?(completed: number, total: number): void;
  onProgress?(completed: number, total: number): void;
}

/**
 * One worker thread of `sgprop worker`, running the local sweep's thread entry (sweep/worker.ts):
 * the run trains there, so the main event loop stays free to renew BullMQ's job locks however
 * long a unit takes. A thread that crashes is replaced before the next run.
 */
export class RunThread {
  private worker: Worker | undefined;
  private ready: Promise<void> | undefined;
  private pending: ((m: WorkerMessage) => void) | undefined;
  private crashed: ((error: string) => void) | undefined;

  constructor(private readonly slots: number) {}

  private start(): Promise<void> {
    const worker = createWorker(this.slots);
    this.worker = worker;
    const ready = new Promise<void>((resolveReady, rejectReady) => {
      let isReady = false;
      worker.on("message", (m: WorkerMessage) => {
        if (m.type === "ready") {
          if (!isReady) {
            isReady = true;
            resolveReady();
          }
          return;
        }
        this.pending?.(m);
      });
      const lost = (why: string) => {
        if (this.worker === worker) {
          this.worker = undefined;
          this.ready = undefined;
        }
        if (!isReady) rejectReady(new Error(`run thread failed to start: ${why}`));
        this.crashed?.(why);
      };
      worker.on("error", (e) => lost(`run thread crashed: ${e.message}`));
      worker.on("exit", (code) => lost(`run thread exited with code ${code}`));
    });
    this.ready = ready;
    return ready;
  }

  /** Trains (or resumes, or skips) one run; resolves when the thread reports how it ended. */
  async run(task: RunTask, events: RunEvents = {}): Promise<RunOutcome> {
    await (this.ready ?? this.start());
    const worker = this.worker;
    if (worker === undefined) return { type: "failed", error: "run thread is gone" };
    return new Promise<RunOutcome>((resolveRun) => {
      const finish = (o: RunOutcome) => {
        this.pending = undefined;
        this.crashed = undefined;
        resolveRun(o);
      };
      this.crashed = (why) => finish({ type: "failed", error: why });
      this.pending = (m) => {
        if (m.type === "started") events.onStarted?.(m.completed, m.total);
        else if (m.type === "progress") events.onProgress?.(m.completed, m.total);
        else if (m.type === "done") finish({ type: "done", seconds: m.seconds, skipped: m.skipped });
        else if (m.type === "interrupted") finish({ type: "interrupted", completed: m.completed });
        else if (m.type === "failed")
          finish({ type: "failed", error: m.error, ...(m.stack === undefined ? {} : { stack: m.stack }) });
      };
      worker.postMessage({ type: "run", task } satisfies MainMessage);
    });
  }

  /** Asks the current run to stop after its unit, with a checkpoint. */
  stop(): void {
    this.worker?.postMessage({ type: "stop" } satisfies MainMessage);
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w !== undefined) await w.terminate();
  }
}
