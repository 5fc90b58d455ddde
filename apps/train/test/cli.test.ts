import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/cli.js";
import { captureOutput, runCli, snapshot } from "./helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "sgprop-cli-"));
beforeAll(() => {
  process.env.SGPROP_TRAINER = "fake";
});

const run = runCli;

describe("sgprop train (in-process, fake trainer)", () => {
  it("writes a complete results folder", async () => {
    const dir = join(tmp, "ok");
    const { code, text } = await run([
      "train",
      "bandit",
      "--preset",
      "tiny",
      "--out",
      dir,
      "--progress",
      "none",
      "--checkpoint-every",
      "2",
    ]);
    expect(code).toBe(0);
    for (const f of [
      "config.json",
      "metrics.csv",
      "eval.csv",
      "summary.json",
      "curves.svg",
      "curves.png",
      "checkpoints/index.json",
    ]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    expect(config).toMatchObject({
      kind: "bandit",
      seed: 0,
      preset: "tiny",
      trainer: { implementation: "fake" },
    });
    expect(config.options).toMatchObject({ steps: 6, learningRate: 5e-3, pFlip: 0.4 });
    expect(config.versions.node).toBe(process.version);
    expect(readFileSync(join(dir, "metrics.csv"), "utf8").trim().split("\n")).toHaveLength(7);
    expect(readFileSync(join(dir, "eval.csv"), "utf8").trim().split("\n")).toHaveLength(3);
    const index = JSON.parse(readFileSync(join(dir, "checkpoints/index.json"), "utf8"));
    expect(index.map((e: { completed: number }) => e.completed)).toEqual([4, 6]);
    expect(text).toMatch(/mean \(AUC\)/);
    expect(text).toContain(join(dir, "metrics.csv"));
  });

  it("--print-config shows the resolved settings without writing", async () => {
    const { code, text } = await run(["train", "popgym", "--env", "explore", "--print-config"]);
    expect(code).toBe(0);
    expect(JSON.parse(text)).toMatchObject({ env: "explore", episodeLength: 40, batches: 300 });
  });

  it("--help documents every hyper-parameter with its default", async () => {
    const out = captureOutput();
    let help = "";
    (out.stream as unknown as NodeJS.ReadableStream).on("data", (c: Buffer) => {
      help += c.toString();
    });
    expect(await main(["train", "popgym", "--help"], out)).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(help).toContain("--explore-reward-zero-prob <number>");
    expect(help).toMatch(/--learning-rate <number>\s+Adam learning rate of the policy.*\(default: 0\.001\)/);
    expect(help).toContain("--preset <name>");
  });
});

describe("a trainer error mid-run", () => {
  it("exits 1 with error.json; --resume continues from the last checkpoint", async () => {
    const dir = join(tmp, "fails");
    process.env.SGPROP_FAKE_FAIL_AT = "6";
    const failed = await run([
      "train",
      "popgym",
      "--preset",
      "tiny",
      "--batches",
      "8",
      "--checkpoint-every",
      "2",
      "--out",
      dir,
      "--progress",
      "none",
    ]);
    delete process.env.SGPROP_FAKE_FAIL_AT;
    expect(failed.code).toBe(1);
    expect(failed.text).toMatch(
      /run failed after 5 units: Error: simulated failure at unit 6.*--resume .* continues from unit 4/,
    );
    expect(JSON.parse(readFileSync(join(dir, "error.json"), "utf8"))).toMatchObject({
      completed: 5,
      lastCheckpoint: 4,
    });
    expect(existsSync(join(dir, "summary.json"))).toBe(false);
    const resumed = await run(["train", "popgym", "--resume", dir, "--progress", "none"]);
    expect(resumed.code).toBe(0);
    expect(existsSync(join(dir, "error.json"))).toBe(false);
    expect(readFileSync(join(dir, "metrics.csv"), "utf8").trim().split("\n")).toHaveLength(9);
  });
});

describe("bad input: exit code 2 and nothing written", () => {
  const existing = join(tmp, "existing");
  beforeAll(async () => {
    expect(
      (
        await run([
          "train",
          "popgym",
          "--preset",
          "tiny",
          "--out",
          existing,
          "--progress",
          "none",
          "--no-plots",
        ])
      ).code,
    ).toBe(0);
  });
  const bad = join(tmp, "bad.yaml");
  const notMapping = join(tmp, "list.yaml");
  writeFileSync(bad, "batches: [1,\n");
  writeFileSync(notMapping, "- 1\n- 2\n");
  const fresh = join(tmp, "never");
  const cases: [string, string[], RegExp][] = [
    [
      "unknown flag",
      ["train", "popgym", "--out", fresh, "--learning-rat", "1"],
      /unknown option '--learning-rat'.*\n.*--learning-rate/,
    ],
    ["bad number", ["train", "popgym", "--out", fresh, "--gamma", "1.5"], /--gamma <number>.*'1.5'.*<= 1/],
    ["bad choice", ["train", "bandit", "--out", fresh, "--model", "cnn"], /--model.*'cnn'.*sparsenet, mlp/],
    [
      "unknown preset",
      ["train", "bandit", "--out", fresh, "--preset", "fast"],
      /--preset.*'fast'.*paper-sgprop/,
    ],
    [
      "inconsistent settings",
      ["train", "popgym", "--out", fresh, "--model", "lstm", "--algorithm", "sgprop"],
      /--algorithm.*backprop for --model lstm/,
    ],
    [
      "unknown SG rule",
      ["train", "popgym", "--out", fresh, "--sg-rule", "td"],
      /--sg-rule.*gtilde, bp-lambda/,
    ],
    [
      "SG lambda out of range",
      ["train", "popgym", "--out", fresh, "--sg-rule", "bp-lambda", "--sg-lambda", "1.5"],
      /--sg-lambda.*<= 1/,
    ],
    [
      "SG lambda without the rule",
      ["train", "popgym", "--out", fresh, "--sg-lambda", "0.5"],
      /--sg-lambda.*unless --sg-rule bp-lambda/,
    ],
    [
      "BP(lambda) without SG predictors",
      ["train", "popgym", "--out", fresh, "--model", "gru", "--sg-rule", "bp-lambda"],
      /--sg-rule.*--algorithm backprop/,
    ],
    [
      "missing config",
      ["train", "popgym", "--out", fresh, "--config", join(tmp, "nope.yaml")],
      /cannot read config file.*ENOENT/,
    ],
    ["malformed config", ["train", "popgym", "--out", fresh, "--config", bad], /malformed config file/],
    [
      "config not a mapping",
      ["train", "popgym", "--out", fresh, "--config", notMapping],
      /must hold a mapping/,
    ],
    [
      "existing folder",
      ["train", "popgym", "--preset", "tiny", "--out", existing],
      /already exists; pass --overwrite/,
    ],
    [
      "incompatible model",
      ["train", "popgym", "--resume", existing, "--model", "gru"],
      /cannot resume .* with model="gru".*model="sparsenet"/,
    ],
    ["other kind", ["train", "bandit", "--resume", existing], /holds a popgym run/],
    [
      "resume with preset",
      ["train", "popgym", "--resume", existing, "--preset", "tiny"],
      /--preset.*nothing together with --resume/,
    ],
    ["not a run folder", ["train", "popgym", "--resume", tmp], /not a run folder/],
    ["unknown command", ["trian"], /unknown command 'trian'/],
  ];
  it.each(cases)("%s", async (_name, args, message) => {
    const before = snapshot(existing);
    const { code, text } = await run(args);
    expect(text).toMatch(message);
    expect(code).toBe(2);
    expect(existsSync(fresh)).toBe(false);
    expect(snapshot(existing)).toEqual(before);
  });

  it("a corrupt last checkpoint (the only one kept) is named and the run refused", async () => {
    const dir = join(tmp, "corrupt");
    expect(
      (await run(["train", "popgym", "--preset", "tiny", "--out", dir, "--progress", "none", "--no-plots"]))
        .code,
    ).toBe(0);
    const index = JSON.parse(readFileSync(join(dir, "checkpoints/index.json"), "utf8"));
    const last = index[index.length - 1].dir;
    writeFileSync(join(dir, "checkpoints", last, "trainer.json"), "{");
    writeFileSync(join(dir, "summary.json"), JSON.stringify({ status: "interrupted" }));
    const before = snapshot(dir);
    const { code, text } = await run(["train", "popgym", "--resume", dir]);
    expect(text).toMatch(/unit-000004\/trainer\.json is damaged \(sha256/);
    expect(text).toMatch(/no intact checkpoint is left/);
    expect(code).toBe(2);
    expect(snapshot(dir)).toEqual(before);
  });
});

describe("sgprop expert-sim and bench", () => {
  it("expert-sim takes the paper's parameters as flags and writes its results", async () => {
    const dir = join(tmp, "expert");
    const args = [
      "expert-sim",
      "--out",
      dir,
      "--dims",
      "4..5",
      "--ks",
      "2",
      "--sample-sizes",
      "1",
      "--trials",
      "3",
    ];
    const { code, text } = await run([...args, "--bootstrap-resamples", "10", "--quiet"]);
    expect(code).toBe(0);
    expect(text).toMatch(/expert-sim: 6 cells/);
    for (const f of ["results.csv", "results.json", "ratio-vs-d-minus-k.svg", "ratio-vs-d-minus-k.png"]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    const bad = await run(["expert-sim", "--out", join(tmp, "expert-bad"), "--cases", "noisy,loud"]);
    expect(bad.code).toBe(2);
    expect(bad.text).toMatch(/--cases.*noisy, activation, partial/);
    expect(existsSync(join(tmp, "expert-bad"))).toBe(false);
  });

  it("bench times units and writes nothing", async () => {
    const { code, text } = await run(["bench", "popgym", "--preset", "tiny", "--units", "3"]);
    expect(code).toBe(0);
    expect(text).toMatch(
      /popgym sparsenet\/sgprop \(none \(fake trainer\)\)\s+[\d.e-]+\s+[\d.e-]+\s+[\d.e-]+\s+3/,
    );
  });
});
