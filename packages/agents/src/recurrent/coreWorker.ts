/**
 * Worker-thread side of the core pool (corePool.ts): computes one half of a row-parallel core
 * task into shared memory, then raises the task's flag (1 = done, 2 = failed) and notifies.
 */
import { parentPort } from "node:worker_threads";
import type { CoreTask } from "./corePool.js";
import { coreEstimatorPartial, corePredictionRows } from "./sparseCore.js";

function run(task: CoreTask): void {
  if (task.kind === "predictions") {
    corePredictionRows(task.s, task.sgParT, task.sgBias, task.sgExt, task.trace, task.out, task.r0, task.r1);
  } else {
    coreEstimatorPartial(
      task.s,
      task.trace,
      task.g,
      task.sub,
      task.rows,
      task.embNormSq,
      task.lo,
      task.hi,
      task.out,
      task.xwIn,
      task.xdIn,
    );
  }
}

parentPort?.on("message", (task: CoreTask) => {
  let state = 1;
  try {
    run(task);
  } catch {
    state = 2;
  }
  Atomics.store(task.flag, 0, state);
  Atomics.notify(task.flag, 0);
});
