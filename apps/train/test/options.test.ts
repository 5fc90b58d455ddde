import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as agents from "@sgprop/agents";
import { describe, expect, it } from "vitest";
import { resolveSettings } from "../src/cli/settings.js";
import { ConfigFileError, InvalidOptionError, UsageError } from "../src/errors.js";
import { banditParams } from "../src/options/bandit.js";
import { popgymParams } from "../src/options/popgym.js";
import { presets } from "../src/options/presets.js";
import { resolveOptions } from "../src/options/resolve.js";
import { flagOf, isDerived, keyOf } from "../src/options/schema.js";

const tmp = mkdtempSync(join(tmpdir(), "sgprop-options-"));

describe("paper defaults (SPEC 6)", () => {
  it("POPGym defaults are the paper's", () => {
    const o = resolveOptions("popgym", []);
    expect(o).toMatchObject({
      model: "sparsenet",
      algorithm: "sgprop",
      env: "escape",
      mazeDims: [6, 6],
      episodeLength: 80,
      rolloutLength: 80,
      numEnvs: 20,
      batches: 300,
      gamma: 0.95,
      entropyCoef: 0.01,
      maxGradNorm: 0.5,
      sgLearningRate: 1e-5,
      width: 128,
      neuronDim: 6,
      numSlots: 6,
      numParents: 6,
      numInputNeurons: 16,
      embedHidden: 128,
      embedDim: 128,
      actorSlots: 6,
      hiddenSize: 256,
      thetaInit: 1,
      exploreRewardZeroProb: 0.75,
    });
    expect(resolveOptions("popgym", [{ source: "t", values: { env: "explore" } }]).episodeLength).toBe(40);
    expect(resolveOptions("popgym", [{ source: "t", values: { model: "gru" } }]).algorithm).toBe("backprop");
  });

  it("bandit defaults and learning rates follow model and algorithm", () => {
    const o = resolveOptions("bandit", []);
    expect(o).toMatchObject({
      steps: 1500,
      batchSize: 64,
      evalBatchSize: 4000,
      numEvals: 20,
      pFlip: 0.4,
      numLayers: 5,
      width: 200,
    });
    expect(o).toMatchObject({
      neuronDim: 10,
      numSlots: 5,
      numParents: 5,
      residual: true,
      thetaInit: 0.9,
      thetaMomentum: 0.9,
    });
    expect(o.learningRate).toBe(5e-3);
    expect(o.classes).toEqual([0, 1, 3, 4, 5, 6, 7, 8, 9]);
    expect(resolveOptions("bandit", [{ source: "t", values: { algorithm: "backprop" } }]).learningRate).toBe(
      1e-3,
    );
    const mlp = resolveOptions("bandit", [{ source: "t", values: { model: "mlp" } }]);
    expect(mlp).toMatchObject({ learningRate: 2e-5, width: 745, residual: false, algorithm: "backprop" });
  });

  // Drift guard: the CLI's flags and defaults must be the trainers' own.
  it.each([
    ["defaultPopgymOptions", popgymParams],
    ["defaultBanditOptions", banditParams],
  ] as const)("every fixed default equals @sgprop/agents' %s", (name, params) => {
    const defaults = (agents as Record<string, unknown>)[name] as Record<string, unknown> | undefined;
    expect(defaults, `${name} is exported by @sgprop/agents`).toBeDefined();
    for (const spec of params) {
      if (spec.default === undefined || isDerived(spec.default)) continue;
      expect([spec.key, defaults?.[spec.key]]).toEqual([spec.key, spec.default]);
    }
    const ours = new Set(params.map((p) => p.key));
    expect(Object.keys(defaults ?? {}).filter((k) => !ours.has(k))).toEqual([]);
  });

  it("every preset resolves", () => {
    for (const kind of ["popgym", "bandit"] as const) {
      for (const name of Object.keys(presets[kind])) {
        expect(() => resolveSettings({ kind, preset: name, cli: {} }), `${kind} ${name}`).not.toThrow();
      }
    }
  });
});

describe("flag names", () => {
  it("round-trip between keys and flags", () => {
    expect(flagOf("learningRate")).toBe("--learning-rate");
    expect(keyOf("--explore-reward-zero-prob")).toBe("exploreRewardZeroProb");
    expect(keyOf("sgLearningRate")).toBe("sgLearningRate");
  });
});

describe("validation", () => {
  it("a bad value names the flag and the allowed values", () => {
    const err = (() => {
      try {
        resolveOptions("popgym", [{ source: "cli", values: { env: "maze" }, isCli: true }]);
      } catch (e) {
        return e as InvalidOptionError;
      }
    })();
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect(err?.message).toContain("--env");
    expect(err?.message).toContain("escape, explore");
  });

  it("rejects odd mazes, sgprop on GRU, out-of-range probabilities", () => {
    expect(() => resolveOptions("popgym", [{ source: "t", values: { mazeDims: "7,6" } }])).toThrow(
      /--maze-dims.*even/,
    );
    expect(() =>
      resolveOptions("popgym", [{ source: "t", values: { model: "gru", algorithm: "sgprop" } }]),
    ).toThrow(/sparsenet/);
    expect(() => resolveOptions("bandit", [{ source: "t", values: { pFlip: 1.5 } }])).toThrow(/pFlip.*<= 1/);
    expect(() => resolveOptions("bandit", [{ source: "t", values: { classes: "0,1,12" } }])).toThrow(
      /--classes/,
    );
  });

  it("unknown keys fail with a suggestion", () => {
    expect(() => resolveOptions("popgym", [{ source: "config x.yaml", values: { learningRat: 1 } }])).toThrow(
      /unknown setting "learningRat" in config x.yaml \(did you mean "learningRate"\?\)/,
    );
  });
});

describe("config files", () => {
  it("YAML and JSON files apply over the preset, flags over both", () => {
    const yaml = join(tmp, "run.yaml");
    writeFileSync(yaml, "preset: tiny\nlearning-rate: 0.002\nbatches: 7\ncheckpointEvery: 3\n");
    const s = resolveSettings({ kind: "popgym", configFile: yaml, cli: { batches: 9 } });
    expect(s.preset).toBe("tiny");
    expect(s.options).toMatchObject({ learningRate: 0.002, batches: 9, width: 8 });
    expect(s.harness).toEqual({ checkpointEvery: 3 });
    const json = join(tmp, "run.json");
    writeFileSync(json, JSON.stringify({ model: "mlp" }));
    expect(resolveSettings({ kind: "bandit", configFile: json, cli: {} }).options.width).toBe(745);
  });

  it("missing, malformed and non-mapping files are ConfigFileErrors (usage errors)", () => {
    const bad = join(tmp, "bad.yaml");
    writeFileSync(bad, "a: [1, 2\n");
    const list = join(tmp, "list.json");
    writeFileSync(list, "[1, 2]");
    for (const file of [join(tmp, "missing.yaml"), bad, list]) {
      const call = () => resolveSettings({ kind: "popgym", configFile: file, cli: {} });
      expect(call).toThrow(ConfigFileError);
      expect(call).toThrow(UsageError);
    }
  });
});
