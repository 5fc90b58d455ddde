import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { jobId } from "../src/queue/jobs.js";
import { parseQueueUrl, redact } from "../src/queue/url.js";
import { taskOfJob } from "../src/queue/worker.js";
import { expandSweep } from "../src/sweep/spec.js";

// The parts of distributed sweeps that need no Redis (the rest: test/e2e/queue.test.ts at the root).
const tmp = mkdtempSync(join(tmpdir(), "sgprop-queue-unit-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("queue URL", () => {
  it("accepts redis:// and rediss:// and never shows the password in errors", () => {
    expect(parseQueueUrl("redis://:pw@host:6379/2").safe).toBe("redis://:***@host:6379/2");
    expect(parseQueueUrl("rediss://user:pw@host:6380").tls).toBe(true);
    for (const bad of [
      "http://:hunter2@host",
      "redis://:hunter2@host/abc",
      "redis://:hunter2@host?x=1",
      "hunter2",
    ]) {
      let message = "";
      try {
        parseQueueUrl(bad);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message, bad).toMatch(/--queue/);
      expect(message, bad).not.toContain("hunter2");
    }
    expect(redact("connect to redis://u:hunter2@h:1 failed (hunter2)", "redis://u:hunter2@h:1")).toBe(
      "connect to redis://u:***@h:1 failed (***)",
    );
  });

  it("gives a run the same job id every time, without ':'", () => {
    const a = jobId("/mnt/x/sweep", "s", "m__seed-1");
    expect(a).toBe(jobId("/mnt/x/sweep/", "s", "m__seed-1"));
    expect(a).not.toBe(jobId("/mnt/y/sweep", "s", "m__seed-1"));
    expect(a).not.toContain(":");
  });
});

describe("what a job may ask a worker", () => {
  const dir = join(tmp, "sweep");
  const sweep = expandSweep(
    { name: "s", kind: "bandit", preset: "tiny", grid: { seed: [0, 1] } } as Parameters<
      typeof expandSweep
    >[0],
    "test",
  );
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "sweep.json"), JSON.stringify(sweep));

  it("a run of a sweep.json, with the settings from that file", () => {
    const task = taskOfJob({ sweepDir: dir, runId: "default__seed-1" }, undefined);
    expect(task.dir).toBe(join(dir, "runs", "default__seed-1"));
    expect(task.options.seed).toBe(1);
  });

  it("refuses anything else by name", () => {
    expect(() => taskOfJob({ cmd: "rm -rf /" }, undefined)).toThrow(/not \{sweepDir, runId\}/);
    expect(() => taskOfJob({ sweepDir: "rel/dir", runId: "x" }, undefined)).toThrow(/not an absolute path/);
    expect(() => taskOfJob({ sweepDir: dir, runId: "../../etc" }, undefined)).toThrow(/is not in/);
    expect(() => taskOfJob({ sweepDir: dir, runId: "default__seed-1" }, join(tmp, "elsewhere"))).toThrow(
      /outside --root/,
    );
    expect(() => taskOfJob({ sweepDir: join(tmp, "none"), runId: "x" }, undefined)).toThrow(
      /holds no sweep.json/,
    );
  });
});
