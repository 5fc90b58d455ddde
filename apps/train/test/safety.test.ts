import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { encodeIdx } from "@sgprop/mnist-bandit";
import { beforeAll, describe, expect, it } from "vitest";
import { conciseError } from "../src/errors.js";
import { checkMemory, estimateMemory } from "../src/options/memory.js";
import { resolveOptions } from "../src/options/resolve.js";
import { FolderLock } from "../src/run/lock.js";
import { runCli, snapshot } from "./helpers.js";

// Issue 14: nothing lost, nothing half-done. One block per numbered case of the issue.
const tmp = mkdtempSync(join(tmpdir(), "sgprop-safety-"));
const ROOT = join(import.meta.dirname, "../../..");
beforeAll(() => {
  process.env.SGPROP_TRAINER = "fake";
});

const run = runCli;

const quiet = ["--progress", "none", "--no-plots"];

async function tinyRun(dir: string, kind = "popgym", extra: string[] = []) {
  const r = await run(["train", kind, "--preset", "tiny", "--out", dir, ...quiet, ...extra]);
  expect(r.code, r.text).toBe(0);
  return r;
}

const json = (path: string) => JSON.parse(readFileSync(path, "utf8"));
const rows = (path: string) => readFileSync(path, "utf8").trim().split("\n").length - 1;

describe("1. --overwrite deletes only what sgprop wrote", () => {
  it("refuses a folder holding other files, and keeps them", async () => {
    const dir = join(tmp, "x");
    mkdirSync(join(dir, "sub"), { recursive: true });
    writeFileSync(join(dir, "sub", "thesis.tex"), "keep");
    const before = snapshot(dir);
    const { code, text } = await run([
      "train",
      "popgym",
      "--preset",
      "tiny",
      "--out",
      dir,
      "--overwrite",
      ...quiet,
    ]);
    expect(code).toBe(2);
    expect(text).toMatch(/--overwrite replaces only a results folder written by sgprop.*holds sub/);
    expect(snapshot(dir)).toEqual(before);
  });

  it("refuses the working folder and its parents, even when empty of runs", async () => {
    // In a throwaway working folder: where this guard is missing (today's main), `--out .
    // --overwrite` deletes the working folder, which must never be the repository.
    const parent = join(tmp, "cwd-parent");
    const cwd = join(parent, "cwd");
    mkdirSync(cwd, { recursive: true });
    writeFileSync(join(parent, "keep.txt"), "keep");
    const before = snapshot(parent);
    const home = process.cwd();
    process.chdir(cwd);
    try {
      for (const out of [".", "..", cwd]) {
        const { code, text } = await run([
          "train",
          "popgym",
          "--preset",
          "tiny",
          "--out",
          out,
          "--overwrite",
        ]);
        expect(code, out).toBe(2);
        expect(text).toMatch(/is the working folder, one of its parents/);
      }
    } finally {
      process.chdir(home);
    }
    expect(snapshot(parent)).toEqual(before);
  });

  it("replaces a run folder it wrote", async () => {
    const dir = join(tmp, "rerun");
    await tinyRun(dir);
    await tinyRun(dir, "popgym", ["--overwrite", "--seed", "3"]);
    expect(json(join(dir, "config.json")).seed).toBe(3);
  });
});

describe("2. biome does not lint git-ignored results folders", () => {
  it("a results folder with unlintable files leaves `biome check .` clean of it", () => {
    const name = `sgprop-test-${process.pid}`;
    const dir = join(ROOT, "runs", name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "curves.js"), "var x = 1 ;;\nwith (x) {}\n");
    try {
      const r = spawnSync(join(ROOT, "node_modules/.bin/biome"), ["check", "."], {
        cwd: ROOT,
        encoding: "utf8",
      });
      expect(`${r.stdout}${r.stderr}`).not.toContain(name);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      // runs/ itself only if this test made it (it is empty then).
      if (readdirSync(join(ROOT, "runs")).length === 0) rmSync(join(ROOT, "runs"), { recursive: true });
    }
  });
});

describe("4. bad values: exit 2, a message naming the value, nothing written", () => {
  const out = join(tmp, "never");
  const cases: [string[], RegExp][] = [
    [["bandit", "--classes", "3"], /--classes.*at least two/],
    [["bandit", "--classes", "1,1,2"], /--classes.*distinct/],
    [["bandit", "--sg-steps-per-policy-step", "0"], /--sg-steps-per-policy-step.*--algorithm backprop/],
    [["bandit", "--data-dir", "/nonexistent"], /nonexistent.*--data-dir/],
    [["popgym", "--seed", "9007199254740993"], /--seed.*9007199254740993/],
    [["popgym", "--seed", "4294967290"], /--seed/],
    [["popgym", "--out", "/proc/self/status"], /is a file/],
    [["popgym", "--episode-length", "100000000"], /--episode-length.*memory/],
    [["bandit", "--eval-batch-size", "100000000"], /--eval-batch-size.*memory/],
    [["popgym", "--num-envs", "1e9"], /--num-envs.*memory/],
    [["popgym", "--width", "200000"], /--width.*memory/],
  ];
  it.each(cases)("train %j", async (args, message) => {
    const [kind, ...rest] = args as [string, ...string[]];
    const preset = rest.includes("--width") ? [] : ["--preset", "tiny"];
    const outArgs = rest.includes("--out") ? [] : ["--out", out];
    const { code, text } = await run(["train", kind, ...preset, ...outArgs, ...rest, "--progress", "none"]);
    expect(text).toMatch(message);
    expect(code).toBe(2);
    expect(text).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
  });

  it("a folder of non-IDX files is refused as --data-dir", async () => {
    const data = join(tmp, "junk-data");
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, "train-images-idx3-ubyte"), "not idx");
    const { code, text } = await run([
      "train",
      "bandit",
      "--preset",
      "tiny",
      "--data-dir",
      data,
      "--out",
      out,
    ]);
    expect(code).toBe(2);
    expect(text).toMatch(/--data-dir/);
    expect(existsSync(out)).toBe(false);
  });

  it("report of a file and conformance of a missing file", async () => {
    const file = join(tmp, "a-file.txt");
    writeFileSync(file, "x");
    expect((await run(["report", file])).code).toBe(2);
    const missing = await run(["conformance", join(tmp, "missing.json")]);
    expect(missing.code).toBe(2);
    expect(missing.text).toMatch(/missing\.json does not exist/);
  });

  it("sweep files are validated the same way before anything is written", async () => {
    const file = join(tmp, "bad-sweep.yaml");
    writeFileSync(file, "name: bad\nkind: popgym\npreset: tiny\ngrid:\n  numEnvs: [2, 1000000000]\n");
    const dir = join(tmp, "bad-sweep");
    const { code, text } = await run(["sweep", file, "--out", dir, "--progress", "none"]);
    expect(code).toBe(2);
    expect(text).toMatch(/numEnvs|--num-envs/);
    expect(existsSync(dir)).toBe(false);
  });

  it("a sweep naming a missing --data-dir is refused before its first run", async () => {
    const file = join(tmp, "bad-data-sweep.yaml");
    writeFileSync(file, "name: badd\nkind: bandit\npreset: tiny\nbase: { dataDir: /nonexistent/mnist }\n");
    const dir = join(tmp, "bad-data-sweep");
    const { code, text } = await run(["sweep", file, "--out", dir, "--progress", "none"]);
    expect(code).toBe(2);
    expect(text).toMatch(/\/nonexistent\/mnist.*--data-dir/);
    expect(existsSync(dir)).toBe(false);
  });

  it("the memory estimate scales with the settings and refuses above half the RAM", () => {
    const paper = resolveOptions("popgym", []);
    const total = (o: typeof paper) => estimateMemory("popgym", o).reduce((s, t) => s + t.bytes, 0);
    expect(total({ ...paper, numEnvs: 40 })).toBeGreaterThan(total(paper));
    expect(() => checkMemory("popgym", paper, paper, 64 * 2 ** 30)).not.toThrow();
    expect(() => checkMemory("popgym", paper, paper, 2 ** 20)).toThrow(/half of this machine's 1.00 MB/);
  });

  it("an unexpected error prints a capped stack, not a minified source", () => {
    const e = new Error("boom");
    e.stack = `Error: boom\n    at ${"x".repeat(100_000)}\n${"    at f (a.js:1:1)\n".repeat(50)}`;
    const text = conciseError(e);
    expect(text.length).toBeLessThan(5000);
    expect(text.split("\n")).toHaveLength(13);
  });
});

describe("5. resume refuses or repairs damaged bookkeeping, naming the file", () => {
  async function interrupted(name: string): Promise<string> {
    const dir = join(tmp, name);
    await tinyRun(dir, "bandit", ["--steps", "12", "--checkpoint-every", "4", "--keep-checkpoints", "3"]);
    writeFileSync(
      join(dir, "summary.json"),
      JSON.stringify({ status: "interrupted", sessions: 1, seconds: 0 }),
    );
    return dir;
  }

  it("a deleted or emptied metrics.csv is refused with both row counts", async () => {
    for (const damage of ["delete", "empty"]) {
      const dir = await interrupted(`metrics-${damage}`);
      if (damage === "delete") rmSync(join(dir, "metrics.csv"));
      else writeFileSync(join(dir, "metrics.csv"), "");
      const before = snapshot(dir);
      const { code, text } = await run(["train", "bandit", "--resume", dir, ...quiet]);
      expect(code).toBe(2);
      expect(text).toMatch(/metrics\.csv has 0 complete rows but checkpoint unit-000012 recorded 12/);
      expect(snapshot(dir)).toEqual(before);
    }
  });

  it("a deleted or [] index.json is rebuilt from the checkpoints, with a warning", async () => {
    const reference = join(tmp, "reference");
    await tinyRun(reference, "bandit", [
      "--steps",
      "12",
      "--checkpoint-every",
      "4",
      "--keep-checkpoints",
      "3",
    ]);
    for (const damage of ["delete", "empty"]) {
      const dir = await interrupted(`index-${damage}`);
      // Rows after the newest checkpoint are produced again from it; drop one checkpoint to see it.
      rmSync(join(dir, "checkpoints", "unit-000012"), { recursive: true });
      if (damage === "delete") rmSync(join(dir, "checkpoints", "index.json"));
      else writeFileSync(join(dir, "checkpoints", "index.json"), "[]");
      const { code, text } = await run(["train", "bandit", "--resume", dir, ...quiet]);
      expect(code, text).toBe(0);
      expect(text).toMatch(/index\.json was (missing|empty); rebuilt it from 2 checkpoint folder/);
      expect(text).toMatch(/resuming .* from step 8/);
      const strip = (p: string) =>
        readFileSync(p, "utf8")
          .split("\n")
          .map((l) => l.split(",").slice(0, -1).join(","));
      expect(strip(join(dir, "metrics.csv"))).toEqual(strip(join(reference, "metrics.csv")));
      expect(readFileSync(join(dir, "eval.csv"), "utf8")).toEqual(
        readFileSync(join(reference, "eval.csv"), "utf8"),
      );
    }
  });

  it("garbage in index.json, summary.json, config.json or sweep.json is refused by name", async () => {
    for (const file of ["checkpoints/index.json", "summary.json", "config.json"]) {
      const dir = await interrupted(`garbage-${file.replace("/", "-")}`);
      writeFileSync(join(dir, file), file === "summary.json" ? "[1," : "{]");
      const before = snapshot(dir);
      const { code, text } = await run(["train", "bandit", "--resume", dir, ...quiet]);
      expect(code, file).toBe(2);
      expect(text).toContain(join(dir, file));
      expect(text).not.toMatch(/SyntaxError|TypeError/);
      expect(snapshot(dir)).toEqual(before);
    }
    const sweepDir = join(tmp, "garbage-sweep");
    mkdirSync(sweepDir);
    writeFileSync(join(sweepDir, "sweep.json"), "not json");
    const { code, text } = await run(["sweep", "--resume", sweepDir, "--progress", "none"]);
    expect(code).toBe(2);
    expect(text).toContain(join(sweepDir, "sweep.json"));
  });
});

describe("7. flags are never silently ignored with --resume", () => {
  it("--print-config shows the recorded settings and trains nothing", async () => {
    const dir = join(tmp, "printcfg");
    await tinyRun(dir);
    writeFileSync(
      join(dir, "summary.json"),
      JSON.stringify({ status: "interrupted", sessions: 1, seconds: 0 }),
    );
    const before = snapshot(dir);
    const { code, lines } = await run(["train", "popgym", "--resume", dir, "--print-config"]);
    expect(code).toBe(0);
    expect(JSON.parse(lines.join("\n"))).toMatchObject({ batches: 4, width: 8 });
    expect(snapshot(dir)).toEqual(before);
  });

  it.each([["--checkpoint-every", "2"], ["--keep-checkpoints", "3"], ["--overwrite"]])(
    "%s with --resume is refused",
    async (...flag) => {
      const dir = join(tmp, "printcfg");
      const before = snapshot(dir);
      const { code, text } = await run(["train", "popgym", "--resume", dir, ...flag.filter(Boolean)]);
      expect(code).toBe(2);
      expect(text).toContain(flag[0]);
      expect(snapshot(dir)).toEqual(before);
    },
  );
});

describe("8. --data-dir data must hold every class of --classes, and only digits", () => {
  function writeMnist(dir: string, labels: number[]) {
    mkdirSync(dir, { recursive: true });
    const n = labels.length;
    const images = encodeIdx({ dtype: "uint8", shape: [n, 28, 28], data: new Uint8Array(n * 784) });
    const lab = encodeIdx({ dtype: "uint8", shape: [n], data: Uint8Array.from(labels) });
    for (const split of ["train", "t10k"]) {
      writeFileSync(join(dir, `${split}-images-idx3-ubyte`), images);
      writeFileSync(join(dir, `${split}-labels-idx1-ubyte`), lab);
    }
  }

  it("a class of --classes missing from the data is refused by name", async () => {
    const data = join(tmp, "mnist-no5");
    writeMnist(data, [0, 1, 2, 3, 4, 6, 7, 8, 9, 0]);
    const out = join(tmp, "no5");
    const { code, text } = await run([
      "train",
      "bandit",
      "--preset",
      "tiny",
      "--data-dir",
      data,
      "--out",
      out,
    ]);
    expect(code).toBe(2);
    expect(text).toMatch(/--classes.*no example of 5/);
    expect(existsSync(out)).toBe(false);
  });

  it("a stray label 42 is refused, not taken as 43 classes", async () => {
    const data = join(tmp, "mnist-42");
    writeMnist(data, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 42]);
    const { code, text } = await run([
      "train",
      "bandit",
      "--preset",
      "tiny",
      "--data-dir",
      data,
      "--out",
      join(tmp, "l42"),
    ]);
    expect(code).toBe(2);
    expect(text).toMatch(/labels include 42/);
  });
});

describe("9. sweeps write only into their own folders and keep a run's error.json", () => {
  it("refuses --out at a non-empty folder that is not a sweep", async () => {
    const file = join(tmp, "ok-sweep.yaml");
    writeFileSync(file, "name: ok\nkind: popgym\npreset: tiny\ngrid:\n  seed: [0]\n");
    const dir = join(tmp, "not-a-sweep");
    mkdirSync(dir);
    writeFileSync(join(dir, "notes.txt"), "mine");
    const before = snapshot(dir);
    const { code, text } = await run(["sweep", file, "--out", dir, "--progress", "none", "--workers", "1"]);
    expect(code).toBe(2);
    expect(text).toMatch(/holds no sweep/);
    expect(snapshot(dir)).toEqual(before);
  });
});

describe("9b. a failed sweep run keeps its own error.json", () => {
  it("completed and lastCheckpoint survive the sweep's record of the failure", async () => {
    const file = join(tmp, "fail-sweep.yaml");
    writeFileSync(file, "name: fail\nkind: popgym\npreset: tiny\ncheckpointEvery: 2\ngrid:\n  seed: [0]\n");
    const dir = join(tmp, "fail-sweep");
    process.env.SGPROP_FAKE_FAIL_AT = "3";
    try {
      const { code } = await run(["sweep", file, "--out", dir, "--progress", "none", "--workers", "1"]);
      expect(code).toBe(1);
    } finally {
      delete process.env.SGPROP_FAKE_FAIL_AT;
    }
    const error = json(join(dir, "runs/default__seed-0/error.json"));
    expect(error).toMatchObject({ completed: 2, lastCheckpoint: 2 });
    expect(error.error).toMatch(/simulated failure at unit 3/);
    expect(json(join(dir, "status.json")).runs["default__seed-0"].status).toBe("failed");
  });
});

describe("10. checkpoints carry sha256; damaged ones fall back; leftovers are removed", () => {
  it("a flipped bit in the newest checkpoint falls back to the previous one, naming the file", async () => {
    const dir = join(tmp, "flip");
    await tinyRun(dir, "bandit", ["--steps", "12", "--checkpoint-every", "4", "--keep-checkpoints", "2"]);
    const index = json(join(dir, "checkpoints/index.json"));
    expect(index.map((e: { dir: string }) => e.dir)).toEqual(["unit-000008", "unit-000012"]);
    expect(index[1].sha256["trainer.json"]).toMatch(/^[0-9a-f]{64}$/);
    const file = join(dir, "checkpoints/unit-000012/trainer.json");
    const bytes = readFileSync(file);
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 1;
    writeFileSync(file, bytes);
    writeFileSync(
      join(dir, "summary.json"),
      JSON.stringify({ status: "interrupted", sessions: 1, seconds: 0 }),
    );
    mkdirSync(join(dir, "checkpoints/unit-000016.tmp-999-1"));
    const { code, text } = await run(["train", "bandit", "--resume", dir, ...quiet]);
    expect(code, text).toBe(0);
    expect(text).toMatch(/unit-000012\/trainer\.json is damaged.*falling back to unit-000008/);
    expect(text).toMatch(/from step 8/);
    expect(existsSync(join(dir, "checkpoints/unit-000016.tmp-999-1"))).toBe(false);
    expect(rows(join(dir, "metrics.csv"))).toBe(12);
  });
});

describe("11. smaller cases", () => {
  it("a finished run without its curves (killed after summary.json) gets them on resume", async () => {
    const dir = join(tmp, "nocurves");
    await tinyRun(dir);
    const summary = readFileSync(join(dir, "summary.json"), "utf8");
    expect(existsSync(join(dir, "curves.svg"))).toBe(false);
    const { code, text } = await run(["train", "popgym", "--resume", dir, "--progress", "none"]);
    expect(code).toBe(0);
    expect(text).toMatch(/drew its missing curves/);
    expect(existsSync(join(dir, "curves.svg"))).toBe(true);
    expect(readFileSync(join(dir, "summary.json"), "utf8")).toBe(summary);
  });

  it("a run killed between its curves and summary.json completes on resume", async () => {
    const dir = join(tmp, "nosummary");
    await tinyRun(dir);
    rmSync(join(dir, "summary.json"));
    rmSync(join(dir, "curves.svg"), { force: true });
    const { code } = await run(["train", "popgym", "--resume", dir, "--progress", "none"]);
    expect(code).toBe(0);
    expect(existsSync(join(dir, "curves.svg"))).toBe(true);
    expect(json(join(dir, "summary.json")).status).toBe("complete");
  });

  it("--no-plots does not list curve files", async () => {
    const { lines } = await tinyRun(join(tmp, "noplots"));
    expect(lines.join("\n")).not.toMatch(/curves\.(svg|png)/);
  });

  it("expert-sim --bootstrap-resamples 0 is refused", async () => {
    expect((await run(["expert-sim", "--bootstrap-resamples", "0", "--out", join(tmp, "es")])).code).toBe(2);
    expect(existsSync(join(tmp, "es"))).toBe(false);
  });

  it("bench refuses a bad --data-dir like train", async () => {
    const { code, text } = await run(["bench", "bandit", "--data-dir", "/nonexistent", "--units", "1"]);
    expect(code).toBe(2);
    expect(text).toMatch(/nonexistent.*--data-dir/);
  });

  it("bench extrapolates to a paper run only with the paper's settings", async () => {
    const { code, text } = await run(["bench", "popgym", "--preset", "tiny", "--units", "2"]);
    expect(code).toBe(0);
    expect(text).not.toMatch(/full paper run/);
    expect(text).toMatch(/not the paper's: .*width/);
  });
});

describe("the results-folder lock", () => {
  it("refuses a second writer, naming the holder", async () => {
    const dir = join(tmp, "locked");
    await tinyRun(dir);
    writeFileSync(
      join(dir, "summary.json"),
      JSON.stringify({ status: "interrupted", sessions: 1, seconds: 0 }),
    );
    const lock = FolderLock.acquire(dir, { command: "another sgprop" });
    try {
      const before = snapshot(dir);
      const { code, text } = await run(["train", "popgym", "--resume", dir, ...quiet]);
      expect(code).toBe(2);
      expect(text).toMatch(
        new RegExp(`being written by pid ${process.pid} on host ${hostname()} \\(another sgprop`),
      );
      expect(snapshot(dir)).toEqual(before);
      const over = await run(["train", "popgym", "--preset", "tiny", "--out", dir, "--overwrite", ...quiet]);
      expect(over.code).toBe(2);
    } finally {
      lock.release();
    }
    expect(existsSync(join(dir, ".sgprop-lock"))).toBe(false);
  });

  it("takes over an expired lease (a machine gone) or a dead process's lock, with a warning", async () => {
    const dir = join(tmp, "stale");
    await tinyRun(dir);
    writeFileSync(
      join(dir, "summary.json"),
      JSON.stringify({ status: "interrupted", sessions: 1, seconds: 0 }),
    );
    const stale = (host: string, pid: number, renewedAt: number) =>
      writeFileSync(
        join(dir, ".sgprop-lock"),
        JSON.stringify({ host, pid, token: "t", command: "x", acquiredAt: "", renewedAt, leaseMs: 60_000 }),
      );
    stale("gone-machine", 1, Date.now() - 120_000);
    let r = await run(["train", "popgym", "--resume", dir, ...quiet]);
    expect(r.code, r.text).toBe(0);
    expect(r.text).toMatch(/took over the lock .* host gone-machine.*lease expired/);
    writeFileSync(
      join(dir, "summary.json"),
      JSON.stringify({ status: "interrupted", sessions: 1, seconds: 0 }),
    );
    stale(hostname(), 2 ** 22 + 12345, Date.now());
    r = await run(["train", "popgym", "--resume", dir, ...quiet]);
    expect(r.code, r.text).toBe(0);
    expect(r.text).toMatch(/took over the lock .*whose process is gone/);
    stale("live-machine", 1, Date.now());
    r = await run(["train", "popgym", "--resume", dir, ...quiet]);
    expect(r.code).toBe(2);
    expect(r.text).toMatch(/host live-machine/);
  });
});
