// Distributed sweeps (issue 20): the queue's overhead per run against a local sweep of the same
// runs, and wall time with 1, 2 and 4 `sgprop worker` processes. Needs redis-server on PATH
// (skipped otherwise). Run: pnpm --filter @sgprop/train bench (after the harness figures).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type { Output } from "../src/cli/output.js";
import { main } from "../src/cli.js";
import { formatNumber, textTable } from "../src/run/metrics.js";

const RUNS = 8;
const UNITS = 4;
const UNIT_MS = 250;

function quiet(): Output {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream;
  (stream as unknown as PassThrough).resume();
  return { info() {}, error: (l) => process.stderr.write(`${l}\n`), stream };
}

function freePort(): Promise<number> {
  return new Promise((resolvePort) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      srv.close(() => resolvePort(typeof a === "object" && a !== null ? a.port : 0));
    });
  });
}

function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const p = spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--appendonly",
      "yes",
      "--appendfsync",
      "always",
      "--save",
      "",
    ],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  return new Promise((r) => {
    let log = "";
    p.stdout?.on("data", (c: Buffer) => {
      log += c.toString();
      if (log.includes("Ready to accept connections")) r(p);
    });
  });
}

function startWorker(url: string, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      "--conditions=source",
      "--import",
      "tsx",
      join(import.meta.dirname, "../src/bin.ts"),
      "worker",
      "--queue",
      url,
      "--workers",
      "1",
    ],
    { env, stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((r) => {
    let out = "";
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      if (out.includes("run thread(s) on")) r(child);
    });
  });
}

function sweepFile(dir: string, name: string): string {
  const file = join(dir, `${name}.yaml`);
  const seeds = Array.from({ length: RUNS }, (_, i) => i).join(", ");
  writeFileSync(
    file,
    `name: ${name}\nkind: bandit\npreset: tiny\nbase: { steps: ${UNITS}, numEvals: 2 }\ngrid:\n  seed: [${seeds}]\ncheckpointEvery: 2\n`,
  );
  return file;
}

async function untilFinished(dir: string): Promise<void> {
  for (;;) {
    const runs = existsSync(join(dir, "runs")) ? readdirSync(join(dir, "runs")) : [];
    if (runs.length === RUNS && runs.every((r) => existsSync(join(dir, "runs", r, "summary.json")))) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

try {
  execFileSync("redis-server", ["--version"]);
} catch {
  console.log("\nqueue benchmark skipped: redis-server is not installed (apt-get install redis-server)");
  process.exit(0);
}

const tmp = mkdtempSync(join(tmpdir(), "sgprop-bench-queue-"));
const port = await freePort();
const redis = await startRedis(port, tmp);
const url = `redis://127.0.0.1:${port}`;
// Runs of UNITS x UNIT_MS of CPU each (the fake trainer spinning, as a real one computes).
process.env.SGPROP_TRAINER = "fake";
process.env.SGPROP_FAKE_BUSY = "1";
const rows: string[][] = [];
let serial = 0;

async function local(unitMs: number, workers: number): Promise<number> {
  process.env.SGPROP_FAKE_UNIT_MS = String(unitMs);
  const out = join(tmp, `local-${serial++}`);
  const t0 = performance.now();
  const code = await main(
    ["sweep", sweepFile(tmp, "bench"), "--out", out, "--workers", String(workers), "--progress", "none"],
    quiet(),
  );
  if (code !== 0) throw new Error(`local sweep exited with ${code}`);
  return (performance.now() - t0) / 1000;
}

/** From enqueueing to the last summary.json, with `processes` idle workers waiting beforehand. */
async function queued(unitMs: number, processes: number): Promise<number> {
  const env = { ...process.env, SGPROP_FAKE_UNIT_MS: String(unitMs) };
  const workers = await Promise.all(Array.from({ length: processes }, () => startWorker(url, env)));
  const out = join(tmp, `queued-${serial++}`);
  const t0 = performance.now();
  const code = await main(["sweep", sweepFile(tmp, `bench${serial}`), "--out", out, "--queue", url], quiet());
  if (code !== 0) throw new Error(`enqueue exited with ${code}`);
  await untilFinished(out);
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all(
    workers.map(
      (w) =>
        new Promise((r) => {
          w.on("exit", r);
          w.kill("SIGTERM");
        }),
    ),
  );
  return seconds;
}

const runSeconds = (UNITS * UNIT_MS) / 1000;
const tinyLocal = await local(0, 1);
const tinyQueued = await queued(0, 1);
const work = await local(UNIT_MS, 1);
const one = await queued(UNIT_MS, 1);
const perRun = (one - work) / RUNS;
rows.push(["local sweep, --workers 1", formatNumber(work), "-"]);
for (const [n, t] of [
  [1, one],
  [2, await queued(UNIT_MS, 2)],
  [4, await queued(UNIT_MS, 4)],
] as const)
  rows.push([`queue, ${n} worker process${n > 1 ? "es" : ""}`, formatNumber(t), formatNumber(one / t)]);
redis.kill("SIGKILL");
rmSync(tmp, { recursive: true, force: true });

console.log(
  `\ndistributed sweep (BullMQ on a local redis-server, AOF fsync always): ${RUNS} runs of ${runSeconds} s of CPU`,
);
console.log(textTable(["setup", "wall s", "speed-up vs 1 process"], rows));
console.log(
  `queue overhead per run: ${formatNumber(perRun)} s against the local sweep (${formatNumber((100 * perRun) / runSeconds)}% of a ${runSeconds} s run, ${formatNumber((100 * perRun) / 60)}% of a 1-minute run)`,
);
console.log(
  `with empty runs (no training): local ${formatNumber((1000 * tinyLocal) / RUNS)} ms per run, queue ${formatNumber((1000 * tinyQueued) / RUNS)} ms per run`,
);
console.log("(shared 2-core machine: 2 processes use both cores, 4 cannot do better; figures are noisy)");
