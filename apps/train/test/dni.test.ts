import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveOptions } from "../src/options/resolve.js";
import { executeRun, prepareNewRun } from "../src/run/train-run.js";
import { trainerFactory } from "../src/trainers/registry.js";
import { runCli } from "./helpers.js";

const root = mkdtempSync(join(tmpdir(), "sgprop-dni-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("sgprop train dni", () => {
  it("runs the critical-point preset into a results folder with its figure and table", async () => {
    const dir = join(root, "cp");
    const r = await runCli(["train", "dni", "--preset", "tiny", "--out", dir, "--progress", "none"]);
    expect(r.code, r.text).toBe(0);
    for (const f of [
      "config.json",
      "metrics.csv",
      "summary.json",
      "curves.svg",
      "curves.png",
      "results.md",
    ]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    expect(readFileSync(join(dir, "metrics.csv"), "utf8").trim().split("\n")).toHaveLength(21);
    expect(readFileSync(join(dir, "results.md"), "utf8")).toContain("Critical-point example");
  });

  it("writes the Table 2 table; resuming a finished run changes nothing", async () => {
    const args = [
      "--experiment",
      "table2",
      "--dims",
      "2",
      "--datasets",
      "1",
      "--steps",
      "30",
      "--hidden-layers",
      "2",
    ];
    const straight = join(root, "t2a");
    expect((await runCli(["train", "dni", ...args, "--out", straight, "--progress", "none"])).code).toBe(0);
    const rows = readFileSync(join(straight, "metrics.csv"), "utf8");
    expect(rows.trim().split("\n")).toHaveLength(13);
    const table = readFileSync(join(straight, "results.md"), "utf8");
    expect(table).toContain("| MSE | linear | 2 | shallow | 1 |");
    // every row states SG's and backprop's gaps and their difference on the same data sets
    expect(table).toContain("| SG | backprop | SG - backprop | paper (SG) |");
    const row = table.split("\n").find((l) => l.startsWith("| log | linear | 2 | shallow |")) ?? "";
    const cells = row
      .split("|")
      .slice(1, -1)
      .map((c) => c.trim());
    const value = (c: string | undefined) => Number.parseFloat(c ?? "");
    expect(cells).toHaveLength(9);
    expect(value(cells[7])).toBeCloseTo(value(cells[5]) - value(cells[6]), 3);
    // An already complete run resumes to "nothing to do" with the same metrics.
    const again = await runCli(["train", "dni", "--resume", straight, "--progress", "none"]);
    expect(again.code).toBe(0);
    expect(readFileSync(join(straight, "metrics.csv"), "utf8")).toBe(rows);
  });

  it("refuses a bad value with exit code 2, naming the flag", async () => {
    const r = await runCli(["train", "dni", "--experiment", "nope", "--out", join(root, "bad")]);
    expect(r.code).toBe(2);
    expect(r.text).toContain("--experiment");
    expect(existsSync(join(root, "bad"))).toBe(false);
  });

  it("stops a run of synchronous units (table2) after the unit in which it is asked to", async () => {
    // A SIGINT handler is a macrotask: it aborts the run's signal only if the run loop yields to
    // the event loop between units. Here a timer stands in for the signal handler.
    const options = resolveOptions("dni", [
      {
        source: "test",
        values: { experiment: "table2", dims: [2], datasets: 2, steps: 500, hiddenLayers: 2 },
      },
    ]);
    const run = await prepareNewRun(
      { kind: "dni", options, outDir: join(root, "stop"), checkpointEvery: 100, keepCheckpoints: 1 },
      await trainerFactory("dni"),
      true,
    );
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 0);
    const summary = await executeRun(run, { signal: stop.signal });
    run.trainer.dispose();
    expect(summary.status).toBe("interrupted");
    expect(summary.completed).toBeGreaterThanOrEqual(1);
    expect(summary.completed).toBeLessThan(24);
    // the checkpoint written at the stop lets --resume continue from there
    const again = await runCli(["train", "dni", "--resume", join(root, "stop"), "--progress", "none"]);
    expect(again.code, again.text).toBe(0);
    expect(
      readFileSync(join(root, "stop", "metrics.csv"), "utf8")
        .trim()
        .split("\n"),
    ).toHaveLength(25);
  });
});
