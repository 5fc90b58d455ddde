import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { unitsOf } from "../src/sweep/run-sweep.js";
import { checkSweepFile, expandSweep, readSweepFile } from "../src/sweep/spec.js";
import { runCli } from "./helpers.js";

const root = mkdtempSync(join(tmpdir(), "sgprop-dni-sweep-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sweepFile = (name: string) => new URL(`../sweeps/${name}.yaml`, import.meta.url).pathname;
const METHODS: Record<string, [string, string]> = {
  "relu-backprop": ["relu", "backprop"],
  "relu-sg": ["relu", "sg"],
  "sigmoid-backprop": ["sigmoid", "backprop"],
  "sigmoid-sg": ["sigmoid", "sg"],
};
const DEPTHS = [3, 5, 10, 21, 50];

describe("the Fig. 4 depth sweep files", () => {
  it.each([
    ["paper-dni-fig4", { width: 512, batchSize: 256, learningRate: 3e-5, steps: 50_000 }],
    ["paper-dni-fig4-quick", { width: 128, batchSize: 64, learningRate: 1e-3, steps: 500 }],
  ])("%s: ReLU and sigmoid, backprop and one SG in the middle, 3 to 50 hidden layers", (name, size) => {
    const runs = expandSweep(readSweepFile(sweepFile(name)), name).runs;
    const got = runs.map((r) => {
      const o = r.options;
      expect([o.activation, o.method]).toEqual(METHODS[r.method]);
      expect(o).toMatchObject({ experiment: "mnist", batchNorm: true, sgPlacement: "middle", ...size });
      expect(o.dataDir).toBeUndefined(); // the bundled digits
      expect(unitsOf(r, "dni")).toBe(size.steps);
      return `${r.method}/${o.hiddenLayers}`;
    });
    const expected = Object.keys(METHODS).flatMap((m) => DEPTHS.map((d) => `${m}/${d}`));
    expect(got.sort()).toEqual(expected.sort());
  });
});

describe("dni sweep units", () => {
  it("are data-set cells for table2 (not --steps) and steps otherwise", () => {
    const file = checkSweepFile(
      {
        name: "units",
        kind: "dni",
        methods: {
          table2: { experiment: "table2", dims: [2, 100], datasets: 3, steps: 1000 },
          shallow: { experiment: "table2", dims: [2], datasets: 4, models: "shallow", steps: 1000 },
          mnist: { experiment: "mnist", steps: 700 },
          cp: { experiment: "critical-point", steps: 90 },
        },
      },
      "units.yaml",
    );
    const units = Object.fromEntries(
      expandSweep(file, "units.yaml").runs.map((r) => [r.id, unitsOf(r, "dni")]),
    );
    // 2 models x 2 losses x 3 data kinds per k, times the data sets
    expect(units).toEqual({ table2: 12 * 2 * 3, shallow: 6 * 4, mnist: 700, cp: 90 });
  });
});

describe("sgprop sweep and report on a dni depth sweep", () => {
  it("runs every depth and method, counts units as the trainers do, and draws the depth figure", async () => {
    const file = join(root, "depth.yaml");
    writeFileSync(
      file,
      [
        "name: depth-tiny",
        "kind: dni",
        "base: { experiment: mnist, width: 8, batchSize: 8, steps: 4, numEvals: 2, learningRate: 0.001, sgPlacement: middle }",
        "methods:",
        "  backprop: { method: backprop }",
        "  sg: { method: sg }",
        "grid:",
        "  hiddenLayers: [2, 4]",
        "",
      ].join("\n"),
    );
    const dir = join(root, "depth");
    const r = await runCli(["sweep", file, "--out", dir, "--progress", "none", "--workers", "1"]);
    expect(r.code, r.text).toBe(0);
    const status = JSON.parse(readFileSync(join(dir, "status.json"), "utf8")) as {
      runs: Record<string, { status: string; completed: number; total: number }>;
    };
    expect(Object.keys(status.runs)).toHaveLength(4);
    for (const s of Object.values(status.runs))
      expect(s).toMatchObject({ status: "complete", completed: 4, total: 4 });
    const out = join(root, "report");
    const rep = await runCli(["report", dir, "--out", out]);
    expect(rep.code, rep.text).toBe(0);
    const md = readFileSync(join(out, "report.md"), "utf8");
    expect(md).toContain("final test error and step time against depth (Fig. 4)");
    for (const row of ["| backprop | 2 | 1 |", "| backprop | 4 | 1 |", "| sg | 2 | 1 |", "| sg | 4 | 1 |"])
      expect(md).toContain(row);
    for (const f of ["depth-tiny-depth.png", "depth-tiny-depth.svg", "depth-tiny-depth-curves.png"])
      expect(existsSync(join(out, "figures", f)), f).toBe(true);
    const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8")) as {
      sweeps: { depth?: { method: string; depth: number; finalError: { mean: number } }[] }[];
    };
    const depth = report.sweeps[0]?.depth ?? [];
    expect(depth.map((d) => `${d.method}/${d.depth}`)).toEqual(["backprop/2", "backprop/4", "sg/2", "sg/4"]);
    for (const d of depth) {
      expect(d.finalError.mean).toBeGreaterThanOrEqual(0);
      expect(d.finalError.mean).toBeLessThanOrEqual(100);
    }
  });
});
