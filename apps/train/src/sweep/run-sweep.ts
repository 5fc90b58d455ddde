import { existsSync, mkdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { type BpLambdaTrainOptions, plannedBatches, resolveBpLambdaOptions } from "@sgprop/bp-lambda/options";
import type { DniTrainOptions } from "@sgprop/dni";
import { plannedUnits } from "@sgprop/dni/plan";
import cliProgress from "cli-progress";
import type { Output } from "../cli/output.js";
import { writeJsonAtomic } from "../run/files.js";
import { metricsText, type ProgressMode } from "../run/progress.js";
import { RUN_FILES } from "../run/train-run.js";
import type { RunTask, WorkerMessage } from "./messages.js";
import type { ExpandedSweep, SweepRun } from "./spec.js";

export const SWEEP_FILES = { spec: "sweep.json", status: "status.json", runs: "runs" } as const;

export interface RunStatus {
  status: "pending" | "running" | "complete" | "failed" | "interrupted";
  completed?: number;
  total?: number;
  seconds?: number;
  error?: string;
}

export interface SweepOutcome {
  readonly complete: number;
  readonly failed: number;
  /** Runs stopped by SIGINT/SIGTERM after a checkpoint (continue with --resume). */
  readonly interrupted: number;
  readonly skipped: number;
  readonly statuses: Record<string, RunStatus>;
}

/**
 * A run's units, the progress and checkpoint count of its kind: popgym batches, bandit steps,
 * bp-lambda batches, and for dni one `charts/step` row (a training step; for table2 one data set
 * of one cell, trained `steps` steps by each method, so not `--steps`).
 */
export function unitsOf(run: SweepRun, kind: ExpandedSweep["kind"]): number {
  if (kind === "bp-lambda")
    return plannedBatches(resolveBpLambdaOptions(run.options as BpLambdaTrainOptions));
  if (kind === "dni") return plannedUnits(run.options as Partial<DniTrainOptions>);
  return Number(kind === "popgym" ? run.options.batches : run.options.steps);
}

/**
 * With several runs at once the cores are already busy, so each run's kernels stay on one thread
 * (SGPROP_CORE_THREADS=1, read by @sgprop/agents); a single-worker sweep keeps the user's setting.
 */
function workerEnv(workers: number): NodeJS.ProcessEnv {
  return workers > 1 ? { ...process.env, SGPROP_CORE_THREADS: "1" } : { ...process.env };
}

export function createWorker(workers: number): Worker {
  const env = workerEnv(workers);
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL("./worker.js", import.meta.url), { env });
  // Running from TypeScript sources under tsx: worker threads do not inherit tsx's module hooks
  // on Node 20, so the worker registers them itself before importing its .ts entry.
  const api = import.meta.resolve("tsx/esm/api");
  const entry = new URL("./worker.ts", import.meta.url).href;
  return new Worker(
    `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`,
    { eval: true, env },
  );
}

interface Display {
  runStarted(slot: number, id: string, completed: number, total: number): void;
  runProgress(
    slot: number,
    id: string,
    completed: number,
    total: number,
    metrics: Record<string, number>,
  ): void;
  runEnded(slot: number, id: string, outcome: string): void;
  overall(
    unitsDone: number,
    unitsTotal: number,
    runsDone: number,
    runsFailed: number,
    runsTotal: number,
  ): void;
  stop(): void;
}

function createDisplay(mode: ProgressMode, workers: number, out: Output): Display {
  const resolved = mode === "auto" ? (out.stream.isTTY ? "bar" : "lines") : mode;
  if (resolved === "bar") {
    const multi = new cliProgress.MultiBar(
      {
        format: "{label} {bar} {percentage}% | {info}",
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
        stream: out.stream,
      },
      cliProgress.Presets.shades_classic,
    );
    const overall = multi.create(1, 0, { label: "sweep     ", info: "" });
    const slots = Array.from({ length: workers }, (_, i) =>
      multi.create(1, 0, { label: `worker ${String(i + 1).padEnd(3)}`, info: "idle" }),
    );
    return {
      runStarted: (slot, id, completed, total) =>
        slots[slot]?.start(total, completed, { label: `worker ${String(slot + 1).padEnd(3)}`, info: id }),
      runProgress: (slot, id, completed, total, metrics) => {
        slots[slot]?.setTotal(total);
        slots[slot]?.update(completed, { info: `${id} ${metricsText(metrics)}` });
      },
      runEnded: (slot, id, outcome) => {
        slots[slot]?.update({ info: `${id}: ${outcome}` });
        if (outcome.startsWith("failed")) multi.log(`${id}: ${outcome}\n`);
      },
      overall: (u, ut, rd, rf, rt) => {
        overall.setTotal(Math.max(ut, 1));
        overall.update(u, { info: `${rd}/${rt} runs done${rf > 0 ? `, ${rf} failed` : ""}` });
      },
      stop: () => multi.stop(),
    };
  }
  if (resolved === "none")
    return { runStarted() {}, runProgress() {}, runEnded() {}, overall() {}, stop() {} };
  let lastPrint = 0;
  let last = "";
  return {
    runStarted: (_s, id, completed, total) => out.info(`start ${id} (${completed}/${total})`),
    runProgress() {},
    runEnded: (_s, id, outcome) =>
      out.info(`${outcome.startsWith("failed") ? "FAIL" : "done"} ${id}: ${outcome}`),
    overall(u, ut, rd, rf, rt) {
      const line = `sweep ${rd}/${rt} runs done${rf > 0 ? ` (${rf} failed)` : ""}, ${((100 * u) / Math.max(ut, 1)).toFixed(0)}% of units`;
      const now = Date.now();
      if (line !== last && now - lastPrint > 10_000) {
        lastPrint = now;
        last = line;
        out.info(line);
      }
    },
    stop() {},
  };
}

/**
 * Runs every run of the sweep in worker threads (one run per worker at a time). A run already
 * complete is skipped, a partial one resumes from its checkpoint, a failing one is recorded in
 * status.json and error.json and the others go on.
 */
export async function runSweep(
  sweep: ExpandedSweep,
  outDir: string,
  opts: { workers?: number; progress: ProgressMode; out: Output; stop?: AbortSignal },
): Promise<SweepOutcome> {
  const runsDir = join(outDir, SWEEP_FILES.runs);
  mkdirSync(runsDir, { recursive: true });
  const statuses: Record<string, RunStatus> = Object.fromEntries(
    sweep.runs.map((r) => [
      r.id,
      { status: "pending", completed: 0, total: unitsOf(r, sweep.kind) } satisfies RunStatus,
    ]),
  );
  const saveStatus = () =>
    writeJsonAtomic(join(outDir, SWEEP_FILES.status), { name: sweep.name, runs: statuses });
  saveStatus();
  const queue: RunTask[] = sweep.runs.map((r) => ({
    sweepName: sweep.name,
    runId: r.id,
    method: r.method,
    params: r.params,
    dir: join(runsDir, r.id),
    kind: sweep.kind,
    options: r.options,
    checkpointEvery: sweep.checkpointEvery,
    keepCheckpoints: sweep.keepCheckpoints,
  }));
  const workerCount = Math.max(1, Math.min(opts.workers ?? availableParallelism(), queue.length));
  const display = createDisplay(opts.progress, workerCount, opts.out);
  const unitsTotal = Object.values(statuses).reduce((s, r) => s + (r.total ?? 0), 0);
  let complete = 0;
  let failed = 0;
  let skipped = 0;
  let interrupted = 0;
  const refresh = () => {
    const done = Object.values(statuses).reduce((s, r) => s + (r.completed ?? 0), 0);
    display.overall(done, unitsTotal, complete + failed, failed, sweep.runs.length);
  };
  const recordFailure = (runId: string, error: string, stack?: string) => {
    failed += 1;
    const status = statuses[runId] as RunStatus;
    status.status = "failed";
    status.error = error;
    const dir = join(runsDir, runId);
    mkdirSync(dir, { recursive: true });
    // A run that failed while training wrote its own error.json (units completed, last
    // checkpoint, step and tensor of a divergence): the sweep's shorter copy must not replace it.
    const own = join(dir, RUN_FILES.error);
    if (!existsSync(own)) writeJsonAtomic(own, { runId, error, stack, at: new Date().toISOString() });
    saveStatus();
  };

  let startupError: Error | undefined;
  const workers = new Set<Worker>();
  const onStop = () => {
    queue.length = 0;
    for (const w of workers) w.postMessage({ type: "stop" });
  };
  opts.stop?.addEventListener("abort", onStop);
  await new Promise<void>((resolveAll) => {
    let alive = 0;
    const spawn = (slot: number) => {
      const worker = createWorker(workerCount);
      workers.add(worker);
      let current: RunTask | undefined;
      let everReady = false;
      alive += 1;
      const giveWork = () => {
        current = queue.shift();
        if (current === undefined) {
          worker.postMessage({ type: "exit" });
          return;
        }
        (statuses[current.runId] as RunStatus).status = "running";
        saveStatus();
        worker.postMessage({ type: "run", task: current });
      };
      worker.on("message", (m: WorkerMessage) => {
        switch (m.type) {
          case "ready":
            everReady = true;
            giveWork();
            break;
          case "started": {
            const s = statuses[m.runId] as RunStatus;
            s.completed = m.completed;
            s.total = m.total;
            display.runStarted(slot, m.runId, m.completed, m.total);
            refresh();
            break;
          }
          case "progress":
            (statuses[m.runId] as RunStatus).completed = m.completed;
            display.runProgress(slot, m.runId, m.completed, m.total, m.metrics);
            refresh();
            break;
          case "done": {
            const s = statuses[m.runId] as RunStatus;
            s.status = "complete";
            s.completed = s.total;
            s.seconds = m.seconds;
            complete += 1;
            if (m.skipped) skipped += 1;
            saveStatus();
            display.runEnded(
              slot,
              m.runId,
              m.skipped ? "already complete" : `complete in ${m.seconds.toFixed(1)} s`,
            );
            refresh();
            current = undefined;
            break;
          }
          case "interrupted": {
            const s = statuses[m.runId] as RunStatus;
            s.status = "interrupted";
            s.completed = m.completed;
            interrupted += 1;
            saveStatus();
            display.runEnded(slot, m.runId, `interrupted at ${m.completed}/${s.total} (checkpoint written)`);
            current = undefined;
            break;
          }
          case "failed":
            recordFailure(m.runId, m.error, m.stack);
            display.runEnded(slot, m.runId, `failed: ${m.error}`);
            refresh();
            current = undefined;
            break;
        }
      });
      worker.on("error", (error) => {
        if (!everReady) startupError = error;
        if (current !== undefined) {
          recordFailure(current.runId, `worker crashed: ${error.message}`, error.stack);
          display.runEnded(slot, current.runId, `failed: worker crashed: ${error.message}`);
          current = undefined;
        }
      });
      worker.on("exit", (code) => {
        alive -= 1;
        workers.delete(worker);
        if (current !== undefined) {
          recordFailure(current.runId, `worker exited with code ${code}`);
          current = undefined;
        }
        // A worker that cannot even start would fail again: stop instead of respawning forever.
        if (queue.length > 0 && startupError === undefined) spawn(slot);
        else if (alive === 0) resolveAll();
      });
    };
    for (let slot = 0; slot < workerCount; slot++) spawn(slot);
  });
  opts.stop?.removeEventListener("abort", onStop);
  display.stop();
  // Runs never started keep "pending"; none stays "running" once its worker is gone.
  for (const s of Object.values(statuses)) if (s.status === "running") s.status = "interrupted";
  saveStatus();
  if (startupError !== undefined) throw new Error(`sweep worker failed to start: ${startupError.message}`);
  return { complete, failed, skipped, interrupted, statuses };
}
