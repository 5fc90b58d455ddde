/**
 * Worker-thread side of the core pool (corePool.ts): computes one half of a row- or
 * environment-parallel core task into shared memory, then raises the task's flag (1 = done,
 * 2 = failed) and notifies the waiting main thread.
 */
import { parentPort } from "node:worker_threads";
import { type CoreTask, runCoreTask } from "./corePool.js";

parentPort?.on("message", (task: CoreTask) => {
  let state = 1;
  try {
    runCoreTask(task);
  } catch {
    state = 2;
  }
  Atomics.store(task.flag, 0, state);
  Atomics.notify(task.flag, 0);
});
