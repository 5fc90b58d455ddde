import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { expandSweep, readSweepFile } from "../src/sweep/spec.js";
import { compareMethod, MARGIN, runMetrics } from "../src/validate/compare.js";
import { loadReferenceRuns } from "../src/validate/reference.js";
import { runCli } from "./helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "sgprop-validate-"));

describe("reference curves", () => {
  it("ships four seeds of each bandit method, fifteen of the POPGym GRU and three of the SparseNets", () => {
    const bandit = loadReferenceRuns("bandit");
    expect(bandit.map((r) => `${r.method}/${r.seed}`)).toEqual(
      ["mlp", "sgprop_adaptive", "sparse_backprop"].flatMap((m) => [0, 1, 2, 3].map((s) => `${m}/${s}`)),
    );
    const sgprop0 = bandit.find((r) => r.method === "sgprop_adaptive" && r.seed === 0);
    expect(sgprop0?.units).toHaveLength(20);
    expect(sgprop0?.units.at(-1)).toBe(1500);
    expect(sgprop0?.values.at(-1)).toBeCloseTo(0.782, 3);
    const popgym = loadReferenceRuns("popgym");
    const seeds = (m: string) => popgym.filter((r) => r.method === m).map((r) => r.seed);
    expect(seeds("gru")).toEqual([...Array(15).keys()]);
    expect(seeds("sparsenet_backprop")).toEqual([0, 1, 2]);
    expect(seeds("sparsenet_sgprop_adaptive")).toEqual([0, 1, 2]);
    expect(popgym.every((r) => r.values.length === 300)).toBe(true);
    const gru0 = popgym.find((r) => r.method === "gru" && r.seed === 0);
    expect(gru0?.values).toHaveLength(300);
    // The reference README's figure: GRU seed 0, mean success of the last 50 batches 0.278.
    expect(runMetrics("popgym", 0, gru0?.values ?? []).final).toBeCloseTo(0.278, 3);
  });
});

describe("the verdict", () => {
  const ref = [0.4, 0.6].map((v, seed) => ({ seed, final: v, mean: v / 2 }));
  it("passes a mean of seeds inside the reference range widened by the margin, fails one outside", () => {
    const inside = [0.3, 0.4].map((v, seed) => ({ seed, final: v + MARGIN, mean: 0.25 }));
    expect(compareMethod("bandit", "m", inside, ref, true).pass).toBe(true);
    const below = [0.11, 0.12].map((v, seed) => ({ seed, final: v, mean: 0.25 }));
    const v = compareMethod("bandit", "m", below, ref, true);
    expect(v.pass).toBe(false);
    expect(v.metrics[0]?.low).toBeCloseTo(0.4 - MARGIN, 12);
    expect(compareMethod("bandit", "m", [], ref, true).pass).toBe(false);
  });

  it("counts POPGym runs that solved the maze (last-50 success > 0.5)", () => {
    const ours = [0.29, 0.93, 0.95].map((v, seed) => ({ seed, final: v, mean: 0.5 }));
    expect(compareMethod("popgym", "m", ours, ref, false).solved).toEqual({ ours: 2, reference: 1 });
  });
});

const run = runCli;

/** A finished validate folder for the MLP whose four runs have the eval curve `curve(seed)`. */
function fakeValidateFolder(name: string, curve: (seed: number) => number[]): string {
  const root = join(tmp, name);
  const path = fileURLToPath(new URL("../sweeps/validate-bandit.yaml", import.meta.url));
  const all = expandSweep(readSweepFile(path), path);
  const sweep = { ...all, runs: all.runs.filter((r) => r.method === "mlp") };
  const dir = join(root, "bandit");
  mkdirSync(join(dir, "runs"), { recursive: true });
  writeFileSync(join(dir, "sweep.json"), JSON.stringify(sweep));
  for (const r of sweep.runs) {
    const runDir = join(dir, "runs", r.id);
    mkdirSync(runDir, { recursive: true });
    const steps = loadReferenceRuns("bandit")[0]?.units ?? [];
    const values = curve(Number(r.options.seed));
    writeFileSync(
      join(runDir, "eval.csv"),
      `charts/step,eval/reward\n${steps.map((s, i) => `${s},${values[i]}`).join("\n")}\n`,
    );
    writeFileSync(join(runDir, "summary.json"), JSON.stringify({ status: "complete" }));
  }
  return root;
}

describe("sgprop validate --no-train", () => {
  it("PASSes runs that follow the reference's curves and FAILs runs stuck at chance", async () => {
    const reference = loadReferenceRuns("bandit").filter((r) => r.method === "mlp");
    const good = fakeValidateFolder("good", (seed) => [...(reference[seed]?.values ?? [])]);
    const pass = await run(["validate", "--no-train", "--methods", "mlp", "--out", good]);
    expect(pass.text).toMatch(/validate: PASS/);
    expect(pass.code).toBe(0);
    const stuck = fakeValidateFolder("stuck", () => new Array(20).fill(0.115));
    const fail = await run(["validate", "--no-train", "--methods", "mlp", "--out", stuck]);
    expect(fail.text).toMatch(/mlp +final eval reward .* FAIL/);
    expect(fail.text).toMatch(/validate: FAIL/);
    expect(fail.code).toBe(1);
  });

  it("refuses unknown methods and an empty folder with exit 2", async () => {
    const unknown = await run(["validate", "--no-train", "--methods", "resnet", "--out", join(tmp, "x")]);
    expect(unknown.code).toBe(2);
    expect(unknown.text).toMatch(/resnet/);
    const empty = await run(["validate", "--no-train", "--only", "bandit", "--out", join(tmp, "empty")]);
    expect(empty.code).toBe(2);
    expect(empty.text).toMatch(/holds no validation runs/);
  });
});
