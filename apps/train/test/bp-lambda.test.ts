import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "./helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "sgprop-bp-lambda-"));

describe("sgprop train bp-lambda (real trainer, tiny)", () => {
  it("writes a results folder and resumes a finished run as complete", async () => {
    const dir = join(tmp, "tiny");
    const { code, text } = await runCli([
      "train",
      "bp-lambda",
      "--preset",
      "tiny",
      "--out",
      dir,
      "--progress",
      "none",
      "--no-plots",
    ]);
    expect(code, text).toBe(0);
    for (const f of ["config.json", "metrics.csv", "eval.csv", "summary.json", "checkpoints/index.json"]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as {
      options: Record<string, unknown>;
    };
    expect(config.options).toMatchObject({
      task: "toy",
      method: "bp-lambda",
      lambda: 1,
      gamma: 1,
      sgLearningRate: 1e-4,
    });
    expect(readFileSync(join(dir, "metrics.csv"), "utf8").split("\n")[0]).toContain("charts/solved_length");
    const again = await runCli(["train", "bp-lambda", "--resume", dir, "--progress", "none"]);
    expect(again.code).toBe(0);
    expect(again.text).toContain("already complete");
  });

  it.each([
    ["copy-repeat", "bptt-sg", ["--n", "2"]],
    ["seq-mnist", "bptt", ["--n", "3"]],
    ["seq-mnist", "no-bptt", []],
  ])("runs --task %s --method %s", async (task, method, extra) => {
    const dir = join(tmp, `${task}-${method}`);
    const args = [
      "train",
      "bp-lambda",
      "--task",
      task,
      "--method",
      method,
      ...extra,
      "--hidden-size",
      "3",
      "--batch-size",
      "2",
    ];
    const sizes = [
      "--epochs",
      "1",
      "--batches-per-epoch",
      "2",
      "--eval-size",
      "10",
      "--out",
      dir,
      "--progress",
      "none",
      "--no-plots",
    ];
    const { code, text } = await runCli([...args, ...sizes]);
    expect(code, text).toBe(0);
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as {
      options: Record<string, unknown>;
    };
    expect(config.options.core).toBe("lstm");
  });

  it("exits 2 naming the flag when bptt-sg has no truncation or a value is out of range", async () => {
    const missing = await runCli(["train", "bp-lambda", "--method", "bptt-sg", "--print-config"]);
    expect(missing.code).toBe(2);
    expect(missing.text).toContain("--n");
    const bad = await runCli(["train", "bp-lambda", "--lambda", "1.5", "--print-config"]);
    expect(bad.code).toBe(2);
    expect(bad.text).toContain("--lambda");
    expect(bad.text).not.toMatch(/\n\s+at /);
  });

  it("prints the paper's defaults per task", async () => {
    const { code, lines } = await runCli(["train", "bp-lambda", "--task", "copy-repeat", "--print-config"]);
    expect(code).toBe(0);
    expect(JSON.parse(lines.join("\n"))).toMatchObject({
      core: "lstm",
      hiddenSize: 100,
      batchSize: 100,
      gamma: 0.9,
      sgLearningRate: 1e-5,
      epochs: 15000,
    });
  });
});

describe("the bp-lambda sweep files", () => {
  it.each(["toy", "copy-repeat", "seq-mnist"])(
    "paper-bp-lambda-%s expands to the 12 methods of Table 2 x 3 seeds",
    async (task) => {
      const { readSweepFile, expandSweep } = await import("../src/sweep/spec.js");
      const where = new URL(`../sweeps/paper-bp-lambda-${task}.yaml`, import.meta.url).pathname;
      const sweep = expandSweep(readSweepFile(where), where);
      expect(sweep.runs).toHaveLength(36);
      expect(new Set(sweep.runs.map((r) => r.options.task))).toEqual(new Set([task]));
      expect(
        sweep.runs
          .filter((r) => r.options.method === "bptt-sg")
          .every((r) => typeof r.options.n === "number"),
      ).toBe(true);
    },
  );
});
