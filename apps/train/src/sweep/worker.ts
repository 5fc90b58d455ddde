import { existsSync } from "node:fs";
import { join } from "node:path";
import { parentPort } from "node:worker_threads";
import { headlineMetrics } from "../run/metrics.js";
import { executeRun, prepareNewRun, prepareResume, RUN_FILES } from "../run/train-run.js";
import { trainerFactory } from "../trainers/registry.js";
import type { MainMessage, RunTask, WorkerMessage } from "./messages.js";

// One worker thread runs sweep runs one after another, each in its own results folder.
const port = parentPort;
if (port === null) throw new Error("sweep/worker.ts must run in a worker thread");

const post = (m: WorkerMessage) => port.postMessage(m);
// Aborted by the main thread's `stop`: the current run ends after its unit, with a checkpoint.
const stop = new AbortController();

async function runTask(task: RunTask): Promise<void> {
  const started = Date.now();
  try {
    const factory = await trainerFactory(task.kind);
    const resumable = existsSync(join(task.dir, RUN_FILES.config));
    const run = resumable
      ? await prepareResume(task.dir, task.kind, {}, factory)
      : await prepareNewRun(
          {
            kind: task.kind,
            options: task.options,
            outDir: task.dir,
            checkpointEvery: task.checkpointEvery,
            keepCheckpoints: task.keepCheckpoints,
            sweep: { name: task.sweepName, runId: task.runId, method: task.method, params: task.params },
            argv: ["sweep", task.sweepName, task.runId],
          },
          factory,
          true,
        );
    if (run.alreadyComplete) {
      run.abandon();
      post({ type: "done", runId: task.runId, seconds: 0, skipped: true });
      return;
    }
    const live = headlineMetrics(task.kind).live;
    const latest: Record<string, number> = {};
    let lastPost = 0;
    let summary: Awaited<ReturnType<typeof executeRun>>;
    try {
      summary = await executeRun(run, {
        signal: stop.signal,
        onStart: (completed, total) => post({ type: "started", runId: task.runId, completed, total }),
        onRow: (completed, total, train, evalRow) => {
          for (const m of live) {
            const v = evalRow?.[m] ?? train[m];
            if (v !== undefined) latest[m] = v;
          }
          const now = Date.now();
          if (now - lastPost > 200 || completed === total) {
            lastPost = now;
            post({ type: "progress", runId: task.runId, completed, total, metrics: { ...latest } });
          }
        },
      });
    } finally {
      run.trainer.dispose();
    }
    if (summary.status === "interrupted") {
      post({ type: "interrupted", runId: task.runId, completed: summary.completed });
      return;
    }
    post({ type: "done", runId: task.runId, seconds: (Date.now() - started) / 1000, skipped: false });
  } catch (error) {
    const e = error as Error;
    post({
      type: "failed",
      runId: task.runId,
      error: `${e.name}: ${e.message}`,
      ...(e.stack === undefined ? {} : { stack: e.stack }),
    });
  }
}

port.on("message", (m: MainMessage) => {
  if (m.type === "exit") {
    port.close();
    return;
  }
  if (m.type === "stop") {
    stop.abort();
    return;
  }
  void runTask(m.task).then(() => post({ type: "ready" }));
});
post({ type: "ready" });
