import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { csvLines, ROOT, runCli, startCli } from "./cli.js";

// Issue 14 cases that need real processes: signals, pipes, the real trainers' divergence.
const tmp = mkdtempSync(join(tmpdir(), "sgprop-e2e-safety-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const json = (path: string) => JSON.parse(readFileSync(path, "utf8"));
const fake = { SGPROP_TRAINER: "fake", SGPROP_FAKE_UNIT_MS: "40" };

async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid of the node process running bin.ts whose parent is `parent`. */
function childPid(parent: number): number | undefined {
  try {
    const children = readFileSync(`/proc/${parent}/task/${parent}/children`, "utf8").trim().split(/\s+/);
    return children.map(Number).find((p) => p > 0);
  } catch {
    return undefined;
  }
}

describe("3. divergence: no checkpoint from non-finite state; the step and tensor are named", () => {
  it.each([
    ["popgym", "sparsenet"],
    ["popgym", "gru"],
    ["bandit", "sparsenet"],
  ])("%s %s with learning rate 1e38", async (kind, model) => {
    const dir = join(tmp, `nan-${kind}-${model}`);
    const units = kind === "popgym" ? ["--batches", "20"] : ["--steps", "20"];
    const r = await runCli([
      "train",
      kind,
      "--preset",
      "tiny",
      "--model",
      model,
      ...units,
      "--learning-rate",
      "1e38",
      "--checkpoint-every",
      "1",
      "--out",
      dir,
      "--no-plots",
    ]);
    expect(r.code, r.stderr).toBe(1);
    const error = json(join(dir, "error.json"));
    expect(error.step).toBeGreaterThanOrEqual(1);
    expect(typeof error.tensor).toBe("string");
    expect(error.error).toMatch(/NonFiniteError: non-finite value .* at training step/);
    // `completed` counts units that finished with finite state only.
    expect(error.completed).toBeLessThan(error.step);
    const index = json(join(dir, "checkpoints/index.json")) as { completed: number }[];
    expect(index.every((e) => e.completed < error.step)).toBe(true);
    expect(error.lastCheckpoint).toBe(index[index.length - 1]?.completed ?? 0);
    // The suggested --resume really starts from that checkpoint (and diverges again, identically).
    const resumed = await runCli(["train", kind, "--resume", dir, "--no-plots"]);
    expect(resumed.stdout).toMatch(new RegExp(`resuming .* from (batch|step) ${error.lastCheckpoint}`));
    expect(json(join(dir, "error.json")).step).toBe(error.step);
  });
});

describe("6. signals", () => {
  it("kill -TERM of `pnpm sgprop` reaches the trainer: it checkpoints and exits, no orphan", async () => {
    const dir = join(tmp, "pnpm-term");
    const pnpm = spawn(
      "pnpm",
      ["-s", "sgprop", "train", "popgym", "--preset", "tiny", "--batches", "400", "--out", dir, "--no-plots"],
      { cwd: ROOT, env: { ...process.env, ...fake }, stdio: "ignore" },
    );
    await until("rows", () => csvLines(join(dir, "metrics.csv")).length >= 3);
    const node = childPid(pnpm.pid as number);
    expect(node).toBeDefined();
    pnpm.kill("SIGTERM");
    await until("the trainer to stop", () => !alive(node as number), 30_000);
    const summary = json(join(dir, "summary.json"));
    expect(summary.status).toBe("interrupted");
    const index = json(join(dir, "checkpoints/index.json")) as { completed: number }[];
    expect(index[index.length - 1]?.completed).toBe(summary.completed);
    expect(summary.completed).toBeLessThan(400);
  });

  it("SIGTERM stops a sweep with checkpoints and status 'interrupted'; --resume finishes it", async () => {
    const file = join(tmp, "sig-sweep.yaml");
    writeFileSync(
      file,
      "name: sig\nkind: popgym\npreset: tiny\nbase: { batches: 60 }\ngrid:\n  seed: [0, 1]\ncheckpointEvery: 1000\n",
    );
    const dir = join(tmp, "sig-sweep");
    const child = startCli(["sweep", file, "--out", dir, "--workers", "2", "--progress", "none"], fake);
    const closed = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
    const metrics = join(dir, "runs/default__seed-0/metrics.csv");
    await until("rows", () => csvLines(metrics).length >= 3);
    child.kill("SIGTERM");
    expect(await closed).toBe(130);
    const status = json(join(dir, "status.json"));
    for (const s of Object.values(status.runs) as { status: string }[]) expect(s.status).not.toBe("running");
    expect(status.runs["default__seed-0"].status).toBe("interrupted");
    const index = json(join(dir, "runs/default__seed-0/checkpoints/index.json")) as { completed: number }[];
    expect(index.length).toBe(1);
    expect(existsSync(join(dir, ".sgprop-lock"))).toBe(false);
    const resumed = await runCli(["sweep", "--resume", dir, "--progress", "none"], {
      SGPROP_TRAINER: "fake",
    });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(csvLines(metrics)).toHaveLength(60);
  });

  it("two concurrent --resume of one folder: the second is refused, naming the first", async () => {
    const dir = join(tmp, "two");
    const first = startCli(["train", "popgym", "--preset", "tiny", "--batches", "200", "--out", dir], fake);
    const closed = new Promise((r) => first.on("close", r));
    await until("rows", () => csvLines(join(dir, "metrics.csv")).length >= 2);
    const second = await runCli(["train", "popgym", "--resume", dir], fake);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(new RegExp(`being written by pid ${first.pid} on host`));
    first.kill("SIGKILL");
    await closed;
    // Its process is gone: the lock is taken over at once.
    const third = await runCli(["train", "popgym", "--resume", dir, "--no-plots"], {
      SGPROP_TRAINER: "fake",
    });
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).toMatch(/took over the lock .*whose process is gone/);
    expect(csvLines(join(dir, "metrics.csv"))).toHaveLength(200);
  });
});

describe("11. `--help | head` ends quietly", () => {
  it("no EPIPE stack trace when the reader closes the pipe", async () => {
    const child = startCli(["train", "popgym", "--help"]);
    // Closed before node has started: its help text is certain to meet a pipe without a reader.
    child.stdout?.destroy();
    let stderr = "";
    child.stderr?.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const code = await new Promise((r) => child.on("close", r));
    expect(stderr).not.toMatch(/EPIPE|at /);
    expect(code).toBe(0);
  });
});
