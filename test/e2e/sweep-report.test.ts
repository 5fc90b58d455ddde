import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hasRealTrainer, readCsv, runCli, svgLines } from "./cli.js";

const tmp = mkdtempSync(join(tmpdir(), "sgprop-e2e-sweep-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const FAKE = { SGPROP_TRAINER: "fake", SGPROP_FAKE_FAIL_SEED: "7" };

// Two methods x two learning rates x two seeds, plus a method whose run fails to start (the fake
// trainer fails seed 7 on purpose).
const sweepFile = join(tmp, "tiny.yaml");
writeFileSync(
  sweepFile,
  `name: tiny-bandit
kind: bandit
preset: tiny
base: { steps: 8, numEvals: 4 }
methods:
  sparse-sgprop: { algorithm: sgprop }
  sparse-backprop: { algorithm: backprop }
  broken: { algorithm: sgprop, grid: { learningRate: [0.005], seed: [7] } }
grid:
  learningRate: [0.001, 0.005]
  seed: [0, 1]
checkpointEvery: 4
`,
);
const dir = join(tmp, "sweep");
const realPopgym = await hasRealTrainer("popgym");

describe("sgprop sweep and report", () => {
  it("runs in worker threads, records the failing run and finishes the others", async () => {
    const r = await runCli(["sweep", sweepFile, "--out", dir, "--workers", "2"], FAKE);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/8 complete \(0 already done before\), 1 failed/);
    const status = JSON.parse(readFileSync(join(dir, "status.json"), "utf8"));
    const states = Object.values(status.runs as Record<string, { status: string }>).map((s) => s.status);
    expect(states.filter((s) => s === "complete")).toHaveLength(8);
    const failed = status.runs["broken__learningRate-0.005__seed-7"];
    expect(failed.status).toBe("failed");
    expect(failed.error).toContain("simulated start-up failure");
    const error = JSON.parse(
      readFileSync(join(dir, "runs/broken__learningRate-0.005__seed-7/error.json"), "utf8"),
    );
    expect(error.error).toContain("seed 7");
    const run = join(dir, "runs/sparse-sgprop__learningRate-0.001__seed-1");
    const config = JSON.parse(readFileSync(join(run, "config.json"), "utf8"));
    expect(config.sweep).toMatchObject({
      name: "tiny-bandit",
      method: "sparse-sgprop",
      params: { learningRate: 0.001, seed: 1 },
    });
    expect(config.options).toMatchObject({ seed: 1, learningRate: 0.001, steps: 8 });
  });

  it("re-running the sweep skips finished runs without duplicating rows", async () => {
    const metrics = join(dir, "runs/sparse-backprop__learningRate-0.005__seed-0/metrics.csv");
    const before = readFileSync(metrics, "utf8");
    const r = await runCli(["sweep", "--resume", dir, "--workers", "2"], FAKE);
    expect(r.stdout).toMatch(/8 complete \(8 already done before\), 1 failed/);
    expect(readFileSync(metrics, "utf8")).toBe(before);
    expect(readCsv(metrics).rows).toHaveLength(8);
  });

  it("a sweep folder holding another sweep is refused with exit code 2", async () => {
    const other = join(tmp, "other.yaml");
    writeFileSync(other, readFileSync(sweepFile, "utf8").replace("seed: [0, 1]", "seed: [0, 1, 2]"));
    const r = await runCli(["sweep", other, "--out", dir], FAKE);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/holds a different sweep/);
  });

  it("report draws mean +/- SEM curves, learning-rate AUC and theta, with Markdown tables", async () => {
    const r = await runCli(["report", dir]);
    expect(r.code).toBe(0);
    const figures = join(dir, "report/figures");
    // Curves: one line per method at its best learning rate, one point per evaluation (4 evals).
    const curves = svgLines(readFileSync(join(figures, "tiny-bandit-curves-eval-reward.svg"), "utf8"));
    expect(curves).toHaveLength(2);
    expect(curves.map((c) => c.points)).toEqual([4, 4]);
    const train = svgLines(readFileSync(join(figures, "tiny-bandit-curves-charts-batch-reward.svg"), "utf8"));
    expect(train.map((c) => c.points)).toEqual([8, 8]);
    // Learning-rate sensitivity: one line per method through its two learning rates.
    const lr = svgLines(readFileSync(join(figures, "tiny-bandit-lr-auc.svg"), "utf8"));
    expect(lr.map((c) => c.points)).toEqual([2, 2]);
    // Theta: sgprop runs only (2 learning rates -> 2 panels), 2 layers each, one point per step.
    const theta = svgLines(readFileSync(join(figures, "tiny-bandit-theta.svg"), "utf8"));
    expect(theta).toHaveLength(4);
    expect(theta.every((c) => c.points === 8)).toBe(true);
    for (const f of [
      "tiny-bandit-curves-eval-reward.png",
      "tiny-bandit-lr-auc.png",
      "tiny-bandit-theta.png",
    ]) {
      expect(existsSync(join(figures, f)), f).toBe(true);
    }
    const md = readFileSync(join(dir, "report/report.md"), "utf8");
    expect(md).toMatch(/Runs: 9 \(8 complete, 1 failed, 0 incomplete\)/);
    expect(md).toMatch(/\| setting \| method \| best lr \| seeds \| final \(last 10%\) \| AUC \|/);
    expect(md).toMatch(/\| all \| sparse-sgprop \| 0\.\d+ \| 2 \| [-\d.]+ ± [\d.]+ \| [-\d.]+ ± [\d.]+ \|/);
    expect(md).toMatch(/\| setting \| method \| lr 0\.001 \| lr 0\.005 \|/);
    expect(md).toMatch(/\| broken__learningRate-0\.005__seed-7 \| Error: simulated start-up failure/);
    const json = JSON.parse(readFileSync(join(dir, "report/report.json"), "utf8"));
    const groups = json.sweeps[0].metrics["eval/reward"] as {
      method: string;
      seeds: number;
      auc: { n: number };
    }[];
    expect(groups).toHaveLength(4);
    expect(groups.every((g) => g.seeds === 2 && g.auc.n === 2)).toBe(true);
  });

  it.runIf(realPopgym)("real trainers (TensorFlow.js) run inside the worker threads", async () => {
    const file = join(tmp, "real.yaml");
    writeFileSync(
      file,
      "name: real\nkind: popgym\npreset: tiny\nbase: { batches: 2 }\nmethods:\n  sg: { algorithm: sgprop }\n  gru: { model: gru }\n",
    );
    const out = join(tmp, "real");
    const r = await runCli(["sweep", file, "--out", out, "--workers", "2"]);
    expect(r.code).toBe(0);
    for (const id of ["sg", "gru"]) {
      const config = JSON.parse(readFileSync(join(out, "runs", id, "config.json"), "utf8"));
      expect(config.trainer.implementation).toBe("agents");
      expect(readCsv(join(out, "runs", id, "metrics.csv")).rows).toHaveLength(2);
    }
  });
});
