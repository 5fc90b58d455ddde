import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assertSameSweep } from "../src/commands/sweep.js";
import { ConfigFileError, InvalidOptionError } from "../src/errors.js";
import { applyQuick, PAPER_SWEEPS, paperSweepPath, QUICK_OVERRIDES } from "../src/reproduce/experiments.js";
import { SWEEP_FILES } from "../src/sweep/run-sweep.js";
import { checkSweepFile, expandSweep, readSweepFile } from "../src/sweep/spec.js";

describe("sweep files", () => {
  it("expand methods x grid with per-method grids and validated options", () => {
    const file = checkSweepFile(
      {
        name: "t",
        kind: "popgym",
        preset: "tiny",
        methods: { sg: { algorithm: "sgprop" }, gru: { model: "gru", grid: { learningRate: [0.001] } } },
        grid: { learningRate: [0.0005, 0.002], seed: [0, 1, 2] },
      },
      "t.yaml",
    );
    const sweep = expandSweep(file, "t.yaml");
    expect(sweep.runs).toHaveLength(2 * 3 + 1 * 3);
    expect(sweep.runs[0]).toMatchObject({
      id: "sg__learningRate-0.0005__seed-0",
      method: "sg",
      params: { learningRate: 0.0005, seed: 0 },
    });
    expect(sweep.runs[0]?.options.width).toBe(8);
    const gru = sweep.runs.filter((r) => r.method === "gru");
    expect(gru.map((r) => r.options.learningRate)).toEqual([0.001, 0.001, 0.001]);
    expect(gru[0]?.options.algorithm).toBe("backprop");
  });

  it("reject unknown keys, bad kinds, empty axes and invalid run settings", () => {
    expect(() => checkSweepFile({ name: "t", kind: "popgym", grids: {} }, "f")).toThrow(ConfigFileError);
    expect(() => checkSweepFile({ name: "t", kind: "atari" }, "f")).toThrow(
      /kind in f.*popgym, bandit, bp-lambda or dni/,
    );
    expect(() => checkSweepFile({ name: "t", kind: "popgym", grid: { seed: [] } }, "f")).toThrow(
      InvalidOptionError,
    );
    const bad = checkSweepFile({ name: "t", kind: "popgym", grid: { learningRate: [0.001, -1] } }, "f");
    expect(() => expandSweep(bad, "f")).toThrow(/learningRate in grid in f/);
  });

  it("every shipped paper sweep and its quick variant expand", () => {
    const sizes: Record<string, number> = {};
    for (const name of PAPER_SWEEPS) {
      const file = readSweepFile(paperSweepPath(name));
      sizes[name] = expandSweep(file, name).runs.length;
      const quick = expandSweep(applyQuick(file, QUICK_OVERRIDES[name]), name);
      expect(quick.runs.length).toBeLessThan(sizes[name] as number);
      expect(quick.name).toBe(`${name}-quick`);
    }
    // test/paper-grids.test.ts checks every run against the authors' grids
    expect(sizes["paper-bandit-lr"]).toBe(120);
    expect(sizes["paper-popgym-escape"]).toBe(240);
  });
});

describe("a sweep folder recorded before a setting existed", () => {
  it("is the same sweep when the new setting is at its paper default, and a different one otherwise", () => {
    const dir = mkdtempSync(join(tmpdir(), "sgprop-same-sweep-"));
    const file = checkSweepFile({ name: "t", kind: "bandit", preset: "tiny", grid: { seed: [0, 1] } }, "t");
    const sweep = expandSweep(file, "t");
    const old = {
      ...sweep,
      runs: sweep.runs.map((r) => {
        const { policyWeightDecay: _p, sgWeightDecay: _s, ...options } = r.options;
        return { ...r, options };
      }),
    };
    writeFileSync(join(dir, SWEEP_FILES.spec), JSON.stringify(old));
    expect(() => assertSameSweep(sweep, dir)).not.toThrow();
    const decayed = expandSweep({ ...file, base: { policyWeightDecay: 1e-4 } }, "t");
    expect(() => assertSameSweep(decayed, dir)).toThrow(/holds a different sweep/);
    rmSync(dir, { recursive: true });
  });
});
