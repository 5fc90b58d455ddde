import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { csvLines, hasRealTrainer, readCsv, runCli } from "./cli.js";

const tmp = mkdtempSync(join(tmpdir(), "sgprop-e2e-train-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const RUN_FILES = [
  "config.json",
  "metrics.csv",
  "summary.json",
  "curves.svg",
  "curves.png",
  "checkpoints/index.json",
];

function expectCompleteFolder(dir: string, units: number, unitColumn: string) {
  for (const f of RUN_FILES) expect(existsSync(join(dir, f)), f).toBe(true);
  const { rows } = readCsv(join(dir, "metrics.csv"));
  expect(rows.map((r) => Number(r[unitColumn]))).toEqual(Array.from({ length: units }, (_, i) => i + 1));
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  expect(config.format).toBe("sgprop-run/1");
  expect(config.git?.commit).toMatch(/^[0-9a-f]{40}$/);
  expect(Object.keys(config.versions)).toContain("@sgprop/train");
  const summary = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8"));
  expect(summary).toMatchObject({ status: "complete", completed: units, total: units });
  const index = JSON.parse(readFileSync(join(dir, "checkpoints/index.json"), "utf8")) as {
    completed: number;
    dir: string;
  }[];
  expect(index.at(-1)?.completed).toBe(units);
  expect(existsSync(join(dir, "checkpoints", index.at(-1)?.dir ?? "?"))).toBe(true);
  expect(readFileSync(join(dir, "curves.svg"), "utf8")).toMatch(/^<svg/);
  return { config, summary, rows };
}

const realPopgym = await hasRealTrainer("popgym");
const realBandit = await hasRealTrainer("bandit");

describe("sgprop train end to end", () => {
  it.runIf(realPopgym)("train popgym --preset tiny with the real trainer", async () => {
    const dir = join(tmp, "popgym");
    const r = await runCli(["train", "popgym", "--preset", "tiny", "--out", dir, "--checkpoint-every", "2"]);
    expect(r.stderr).not.toMatch(/sgprop:|Error/);
    expect(r.code).toBe(0);
    const { config, rows } = expectCompleteFolder(dir, 4, "charts/batch");
    expect(config.trainer.implementation).toBe("agents");
    expect(["wasm", "cpu", "tensorflow"]).toContain(config.trainer.backend);
    for (const m of ["charts/success_rate", "charts/return_mean", "losses/sg_loss", "sgprop/theta_mean"]) {
      expect(Number.isFinite(Number(rows[0]?.[m])), m).toBe(true);
    }
    // stdout is a pipe: plain progress lines, then the summary table and the results location.
    expect(r.stdout).toMatch(/escape sparsenet\/sgprop 4\/4 \(100%\)/);
    expect(r.stdout).toMatch(/charts\/return_mean\s+-?\d/);
    expect(r.stdout).toContain(join(dir, "metrics.csv"));
  });

  it.runIf(realBandit)("train bandit --preset tiny with the real trainer", async () => {
    const dir = join(tmp, "bandit-real");
    const r = await runCli(["train", "bandit", "--preset", "tiny", "--out", dir]);
    expect(r.code).toBe(0);
    expectCompleteFolder(dir, 6, "charts/step");
    expect(csvLines(join(dir, "eval.csv"))).toHaveLength(2);
  });

  it("train bandit --preset tiny with the fake trainer writes metrics and evaluations", async () => {
    const dir = join(tmp, "bandit");
    const r = await runCli(["train", "bandit", "--preset", "tiny", "--out", dir], { SGPROP_TRAINER: "fake" });
    expect(r.code).toBe(0);
    expectCompleteFolder(dir, 6, "charts/step");
    const evals = readCsv(join(dir, "eval.csv")).rows;
    expect(evals.map((e) => Number(e["charts/step"]))).toEqual([1, 6]);
  });
});
