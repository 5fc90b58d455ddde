import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCsv, runCli, startCli } from "./cli.js";
import { redisServerAvailable, TestRedis } from "./redis.js";

// Distributed sweeps (issue 20): real redis-server processes on free loopback ports, real
// `sgprop worker` processes, the fake trainer (deterministic, checkpoints like the real ones).
const redis = redisServerAvailable();
if (!redis.ok) console.warn(`queue tests skipped: ${redis.message}`);

const tmp = mkdtempSync(join(tmpdir(), "sgprop-e2e-queue-"));
const FAKE = { SGPROP_TRAINER: "fake", SGPROP_FAKE_FAIL_SEED: "7" };
const QUEUE_NAME = "sgprop-runs";

/** Six runs: 3 learning rates x 2 seeds, 8 units each, a checkpoint every 2 units. */
function writeSweep(name: string, seeds = "0, 1"): string {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
kind: bandit
preset: tiny
base: { steps: 8, numEvals: 4 }
methods:
  sparse: { algorithm: sgprop }
grid:
  learningRate: [0.001, 0.002, 0.005]
  seed: [${seeds}]
checkpointEvery: 2
`,
  );
  return file;
}
const RUNS = [0.001, 0.002, 0.005].flatMap((lr) =>
  [0, 1].map((s) => `sparse__learningRate-${lr}__seed-${s}`),
);

/** metrics.csv and eval.csv of a run without the timing columns. */
function deterministic(runDir: string): unknown {
  const strip = (path: string) =>
    readCsv(path).rows.map((r) =>
      Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith("perf/"))),
    );
  return { metrics: strip(join(runDir, "metrics.csv")), eval: strip(join(runDir, "eval.csv")) };
}

interface WorkerProc {
  readonly child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  ready: Promise<void>;
}

/** Every worker started, so that a failing test leaves no process behind. */
const started: ChildProcess[] = [];
afterAll(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

function startWorker(url: string, args: string[], env: Record<string, string> = {}): WorkerProc {
  // One run at a time unless a test says otherwise (the default is one per core).
  const slots = args.includes("--workers") ? [] : ["--workers", "1"];
  const child = startCli(["worker", "--queue", url, ...slots, ...args], { ...FAKE, ...env });
  started.push(child);
  let out = "";
  let markReady: () => void = () => {};
  const ready = new Promise<void>((r) => {
    markReady = r;
  });
  const onData = (c: Buffer) => {
    out += c.toString();
    if (out.includes("run thread(s) on")) markReady();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
  return { child, output: () => out, exited, ready };
}

async function waitFor(what: string, test: () => boolean, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!test()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function startsOf(outputs: string[], run: string): string[] {
  return outputs.flatMap((o) => o.split("\n")).filter((l) => l.includes(` start ${run} (`));
}

/** The jobs of one sweep folder, by run id (the queue holds the jobs of every sweep). */
async function jobsOf(
  url: string,
  dir: string,
): Promise<Record<string, { state: string; attemptsStarted: number }>> {
  const q = new Queue(QUEUE_NAME, { connection: { url } });
  try {
    const jobs = await q.getJobs(["completed", "failed", "wait", "active", "delayed"]);
    const out: Record<string, { state: string; attemptsStarted: number }> = {};
    for (const j of jobs) {
      const data = j.data as { runId: string; sweepDir: string };
      if (data.sweepDir === dir)
        out[data.runId] = { state: await j.getState(), attemptsStarted: j.attemptsStarted };
    }
    return out;
  } finally {
    await q.close();
  }
}

const local = join(tmp, "local");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let server: TestRedis;

describe.skipIf(!redis.ok)("distributed sweeps on BullMQ (sgprop worker)", { timeout: 240_000 }, () => {
  beforeAll(async () => {
    server = await TestRedis.start();
    // The reference: the same sweep, local, in worker threads.
    const r = await runCli(
      ["sweep", writeSweep("q"), "--out", local, "--workers", "2", "--progress", "none"],
      FAKE,
    );
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("enqueues idempotently; 3 worker processes finish every run once, equal to a local sweep", async () => {
    const dir = join(tmp, "three");
    const file = writeSweep("q");
    const first = await runCli(["sweep", file, "--out", dir, "--queue", server.url], FAKE);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain("6 jobs added, 0 already queued");
    const second = await runCli(["sweep", file, "--out", dir, "--queue", server.url], FAKE);
    expect(second.stdout).toContain("0 jobs added, 6 already queued");
    expect(Object.keys(await jobsOf(server.url, dir))).toHaveLength(6);

    const workers = [0, 1, 2].map(() => startWorker(server.url, ["--drain"], { SGPROP_FAKE_UNIT_MS: "30" }));
    const codes = await Promise.all(workers.map((w) => w.exited));
    expect(codes).toEqual([0, 0, 0]);
    const outputs = workers.map((w) => w.output());
    for (const run of RUNS) {
      expect(startsOf(outputs, run), run).toHaveLength(1);
      expect(deterministic(join(dir, "runs", run))).toEqual(deterministic(join(local, "runs", run)));
    }
    // More than one worker took part (six runs, three processes).
    expect(outputs.filter((o) => / done /.test(o)).length).toBeGreaterThan(1);
    const jobs = await jobsOf(server.url, dir);
    for (const run of RUNS) expect(jobs[run]).toEqual({ state: "completed", attemptsStarted: 1 });
    const third = await runCli(["sweep", file, "--out", dir, "--queue", server.url], FAKE);
    expect(third.stdout).toContain(
      "0 jobs added, 0 already queued, 0 failed jobs retried, 6 runs already finished",
    );
    const status = await runCli(["sweep-status", dir, "--queue", server.url]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/6 runs: 6 complete; 100\.0% of units done/);
    // report works on the distributed sweep as on a local one
    const report = await runCli(["report", dir, "--out", join(tmp, "report-three")]);
    expect(report.code, report.stderr).toBe(0);
  });

  it("a worker SIGKILLed mid-run: another resumes the run from its checkpoint; results equal the local sweep", async () => {
    const dir = join(tmp, "killed");
    expect((await runCli(["sweep", writeSweep("q"), "--out", dir, "--queue", server.url], FAKE)).code).toBe(
      0,
    );
    const fast = ["--lock-duration", "3000", "--stalled-interval", "500"];
    const slow = { SGPROP_FAKE_UNIT_MS: "150" };
    const victim = startWorker(server.url, fast, slow);
    await victim.ready;
    // Kill it once its first run has a checkpoint past unit 0.
    let target = "";
    await waitFor("a checkpoint of the victim's run", () => {
      const m = / start (\S+) \(0\/8/.exec(victim.output());
      if (m === null) return false;
      target = m[1] as string;
      const index = join(dir, "runs", target, "checkpoints", "index.json");
      return existsSync(index) && JSON.parse(readFileSync(index, "utf8")).length > 0;
    });
    victim.child.kill("SIGKILL");
    await victim.exited;
    const rescuer = startWorker(server.url, [...fast, "--drain"], { SGPROP_FAKE_UNIT_MS: "20" });
    expect(await rescuer.exited).toBe(0);
    const resumed = startsOf([rescuer.output()], target);
    expect(resumed).toHaveLength(1);
    expect(resumed[0]).toMatch(/\((2|4|6)\/8, attempt 1\//); // from a checkpoint, the stall used no attempt
    expect(rescuer.output()).toMatch(/took over the lock|stalled/);
    for (const run of RUNS)
      expect(deterministic(join(dir, "runs", run)), run).toEqual(deterministic(join(local, "runs", run)));
  });

  it("a run longer than the lock duration (CPU-bound) is not handed to a second worker", async () => {
    const dir = join(tmp, "long");
    const file = writeSweep("long", "0");
    expect((await runCli(["sweep", file, "--out", dir, "--queue", server.url], FAKE)).code).toBe(0);
    // Each unit spins the CPU for 350 ms: 2.8 s per run against a 2 s lock checked every 0.3 s.
    const opts = ["--lock-duration", "2000", "--stalled-interval", "300", "--drain"];
    const env = { SGPROP_FAKE_UNIT_MS: "350", SGPROP_FAKE_BUSY: "1" };
    const workers = [startWorker(server.url, opts, env), startWorker(server.url, opts, env)];
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0]);
    const outputs = workers.map((w) => w.output());
    expect(outputs.join("\n")).not.toMatch(/stalled/);
    const runs = readdirSync(join(dir, "runs"));
    expect(runs).toHaveLength(3);
    for (const run of runs) {
      expect(startsOf(outputs, run), run).toHaveLength(1);
      const summary = JSON.parse(readFileSync(join(dir, "runs", run, "summary.json"), "utf8"));
      expect(summary.seconds).toBeGreaterThan(2.8);
    }
  });

  it("a poisoned run is retried, then recorded as failed with its error", async () => {
    const dir = join(tmp, "poison");
    const file = join(tmp, "poison.yaml");
    writeFileSync(
      file,
      "name: poison\nkind: bandit\npreset: tiny\nbase: { steps: 4, numEvals: 2 }\ngrid:\n  seed: [1, 7]\ncheckpointEvery: 2\n",
    );
    const r = await runCli(
      ["sweep", file, "--out", dir, "--queue", server.url, "--attempts", "3", "--backoff", "100"],
      FAKE,
    );
    expect(r.code, r.stderr).toBe(0);
    const w = startWorker(server.url, ["--drain"]);
    expect(await w.exited).toBe(0);
    const fails = w
      .output()
      .split("\n")
      .filter((l) => l.includes("FAIL default__seed-7"));
    expect(fails).toHaveLength(3);
    expect(fails[2]).toContain("attempt 3/3");
    const error = JSON.parse(readFileSync(join(dir, "runs/default__seed-7/error.json"), "utf8"));
    expect(error.error).toContain("simulated start-up failure");
    expect(error.attempts).toBe(3);
    expect(existsSync(join(dir, "runs/default__seed-1/summary.json"))).toBe(true);
    const status = JSON.parse(readFileSync(join(dir, "status.json"), "utf8"));
    expect(status.runs["default__seed-7"].status).toBe("failed");
    const shown = await runCli(["sweep-status", dir, "--queue", server.url]);
    expect(shown.code).toBe(1);
    expect(shown.stdout).toMatch(/default__seed-7\s+failed\s+failed\s+3\/3/);
    // Enqueueing again retries the failed run (as a local --resume does), adding no job.
    const again = await runCli(["sweep", "--resume", dir, "--queue", server.url], FAKE);
    expect(again.stdout).toContain(
      "0 jobs added, 0 already queued, 1 failed jobs retried, 1 runs already finished",
    );
  });

  it("redis-server SIGKILLed and restarted mid-sweep: every run completes once", async () => {
    const dir = join(tmp, "redis-kill");
    expect((await runCli(["sweep", writeSweep("q"), "--out", dir, "--queue", server.url], FAKE)).code).toBe(
      0,
    );
    const env = { SGPROP_FAKE_UNIT_MS: "80" };
    const workers = [startWorker(server.url, [], env), startWorker(server.url, [], env)];
    const done = () => RUNS.filter((r) => existsSync(join(dir, "runs", r, "summary.json"))).length;
    await waitFor("two finished runs", () => done() >= 2);
    await server.kill();
    await new Promise((r) => setTimeout(r, 1500));
    await server.launch();
    await waitFor("every run", () => done() === RUNS.length, 90_000);
    const t0 = Date.now();
    let jobs = await jobsOf(server.url, dir);
    while (Object.values(jobs).some((j) => j.state !== "completed") && Date.now() - t0 < 30_000) {
      await new Promise((r) => setTimeout(r, 300));
      jobs = await jobsOf(server.url, dir);
    }
    for (const w of workers) w.child.kill("SIGTERM");
    await Promise.all(workers.map((w) => w.exited));
    expect(Object.keys(jobs).sort()).toEqual([...RUNS].sort());
    for (const run of RUNS) {
      expect(jobs[run]?.state, run).toBe("completed");
      expect(deterministic(join(dir, "runs", run)), run).toEqual(deterministic(join(local, "runs", run)));
    }
  });
});

describe.skipIf(!redis.ok)("the queue password", { timeout: 240_000 }, () => {
  const password = "s3cret-Pa55word";
  let secured: TestRedis;
  beforeAll(async () => {
    secured = await TestRedis.start(password);
  });
  afterAll(async () => {
    await secured?.stop();
  });

  it("is never printed nor written into the sweep folder", async () => {
    const dir = join(tmp, "secret");
    const file = join(tmp, "secret.yaml");
    writeFileSync(
      file,
      "name: secret\nkind: bandit\npreset: tiny\nbase: { steps: 4, numEvals: 2 }\ngrid:\n  seed: [1, 2]\n",
    );
    const printed: string[] = [];
    const r = await runCli(["sweep", file, "--out", dir, "--queue", secured.url], FAKE);
    expect(r.code, r.stderr).toBe(0);
    printed.push(r.stdout, r.stderr);
    const w = startWorker(secured.url, ["--drain", "--workers", "2"]);
    expect(await w.exited).toBe(0);
    printed.push(w.output());
    // The URL from the environment (kept out of `ps`).
    const s = await runCli(["sweep-status", dir], { SGPROP_QUEUE: secured.url });
    printed.push(s.stdout, s.stderr);
    expect(s.stdout).toMatch(/2 runs: 2 complete/);
    // A wrong password and an unreachable server: errors name the URL without its secret.
    const wrong = await runCli([
      "sweep-status",
      dir,
      "--queue",
      `redis://:${password}X@127.0.0.1:${secured.port}`,
    ]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/cannot reach the queue at redis:\/\/:\*\*\*@127\.0\.0\.1/);
    printed.push(wrong.stdout, wrong.stderr);
    const bad = await runCli(["worker", "--queue", `redis://:${password}@127.0.0.1:${secured.port}/x`]);
    expect(bad.code).toBe(2);
    printed.push(bad.stdout, bad.stderr);
    for (const text of printed) expect(text).not.toContain(password);
    const files: string[] = [];
    const walk = (d: string) => {
      for (const name of readdirSync(d)) {
        const p = join(d, name);
        if (statSync(p).isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(dir);
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) expect(readFileSync(f, "latin1"), f).not.toContain(password);
    expect(readFileSync(join(dir, "queue.json"), "utf8")).toContain(":***@127.0.0.1");
  });
});
