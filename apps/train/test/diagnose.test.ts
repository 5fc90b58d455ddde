import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readMetricsCsv } from "../src/run/files.js";
import { runCli } from "./helpers.js";

const tiny = ["--preset", "tiny", "--progress", "none", "--no-plots"];

describe("sgprop diagnose", () => {
  it("diagnoses a bandit run's checkpoint: csv, json, figures, target check; --during-training adds columns", async () => {
    const root = await mkdtemp(join(tmpdir(), "sgprop-diagnose-"));
    const run = join(root, "run");
    const trained = await runCli([
      "train",
      "bandit",
      ...tiny,
      "--out",
      run,
      "--during-training",
      "2",
      "--during-training-pool",
      "64",
    ]);
    expect(trained.code, trained.text).toBe(0);
    const metrics = readMetricsCsv(join(run, "metrics.csv"));
    const col = metrics.columns.indexOf("diagnose/mse_current");
    expect(col).toBeGreaterThan(0);
    expect(metrics.rows.map((r) => Number.isFinite(r[col]))).toEqual([true, true, false, true, false, true]);

    const r = await runCli(["diagnose", run, "--pool", "400", "--batch-sizes", "4,16", "--seed", "1"]);
    expect(r.code, r.text).toBe(0);
    const dir = join(run, "diagnose", "unit-000006");
    for (const f of [
      "diagnose.csv",
      "diagnose.json",
      "mse-vs-batch.png",
      "variance-vs-bias2.svg",
      "eq3-theta-vs-best.png",
    ])
      expect(existsSync(join(dir, f)), f).toBe(true);
    const json = JSON.parse(readFileSync(join(dir, "diagnose.json"), "utf8"));
    expect(json.pool).toBe(400);
    expect(json.batchSizes).toEqual([4, 8, 16]); // the trainer's batch (tiny preset: 8) is added
    expect(json.method).toMatch(/closed form/);
    expect(json.targetChecks.length).toBe(2 * 3); // two spaces x (2 layers + net)
    expect(json.thetas.length).toBe(16); // 2 layers x 8 neurons
    const csv = readFileSync(join(dir, "diagnose.csv"), "utf8").split("\n");
    expect(csv[0]).toBe("space,estimator,batch,layer,unit,theta,mse,variance,bias2");
    // layer and net rows plus one per neuron, for 4 estimators x 3 batch sizes x 2 spaces
    expect(csv.filter((l) => l.length > 0).length - 1).toBe(4 * 3 * 2 * (3 + 16));
    expect(r.text).toMatch(/target \(raw\): standard error/);
    expect(r.text).toMatch(/WARNING: the pool of 400 samples is too small|target check: passed/);

    for (const [args, pattern] of [
      [["diagnose", run, "--batch-sizes", "0,8"], /--batch-sizes/],
      [["diagnose", run, "--pool", "ten"], /--pool/],
      [["diagnose", run, "--checkpoint", "unit-000999"], /unit-000999.*--checkpoint.*unit-000006/],
      [["diagnose", root], /not a run folder/],
    ] as const) {
      const bad = await runCli([...args]);
      expect(bad.code, bad.text).toBe(2);
      expect(bad.text).toMatch(pattern);
    }
  }, 120_000);

  it("diagnoses a POPGym SparseNet run's checkpoint (one pool sample per episode); --during-training", async () => {
    const run = join(await mkdtemp(join(tmpdir(), "sgprop-diagnose-")), "run");
    const trained = await runCli([
      "train",
      "popgym",
      ...tiny,
      "--out",
      run,
      "--during-training",
      "3",
      "--during-training-episodes",
      "4",
    ]);
    expect(trained.code, trained.text).toBe(0);
    const metrics = readMetricsCsv(join(run, "metrics.csv"));
    const col = metrics.columns.indexOf("diagnose/mse_backprop");
    expect(metrics.rows.map((r) => Number.isFinite(r[col]))).toEqual([true, false, true, false]);
    const r = await runCli(["diagnose", run, "--pool", "6", "--batch-sizes", "2,4"]);
    expect(r.code, r.text).toBe(0);
    const dirs = readdirSync(join(run, "diagnose"));
    expect(dirs).toHaveLength(1);
    const json = JSON.parse(readFileSync(join(run, "diagnose", dirs[0] as string, "diagnose.json"), "utf8"));
    expect(json.kind).toBe("popgym");
    expect(json.pool).toBe(6);
    expect(json.rows.length).toBeGreaterThan(0);
    expect(existsSync(join(run, "diagnose", dirs[0] as string, "eq3-theta-vs-best.png"))).toBe(true);
  }, 120_000);
});
