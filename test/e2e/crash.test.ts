import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { csvLines, hasRealTrainer, readCsv, runCli, startCli } from "./cli.js";

const tmp = mkdtempSync(join(tmpdir(), "sgprop-e2e-crash-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Starts a run, SIGKILLs it once `killAfterRows` rows are on disk, and returns the rows seen then. */
async function killMidRun(
  args: string[],
  metrics: string,
  killAfterRows: number,
  env: Record<string, string>,
): Promise<number> {
  const child = startCli(args, env);
  const closed = new Promise((r) => child.on("close", r));
  for (;;) {
    const rows = csvLines(metrics).length;
    if (rows >= killAfterRows) break;
    if (child.exitCode !== null) throw new Error(`run ended before it could be killed (${rows} rows)`);
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill("SIGKILL");
  await closed;
  return csvLines(metrics).length;
}

/** Every column except timings, which legitimately differ between two executions. */
function deterministicColumns(path: string): Record<string, string>[] {
  return readCsv(path).rows.map((r) =>
    Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith("perf/"))),
  );
}

const cases = [
  {
    name: "real POPGym trainer",
    enabled: await hasRealTrainer("popgym"),
    kind: "popgym",
    args: ["--preset", "tiny", "--batches", "30"],
    env: {} as Record<string, string>,
    units: 30,
    killAfter: 11,
    file: "metrics.csv",
  },
  {
    name: "real bandit trainer (with evaluations)",
    enabled: await hasRealTrainer("bandit"),
    kind: "bandit",
    args: ["--preset", "tiny", "--steps", "40", "--num-evals", "8"],
    env: {} as Record<string, string>,
    units: 40,
    killAfter: 17,
    file: "eval.csv",
  },
  {
    name: "fake bandit trainer (with evaluations)",
    enabled: true,
    kind: "bandit",
    args: ["--preset", "tiny", "--steps", "40", "--num-evals", "8"],
    env: { SGPROP_TRAINER: "fake", SGPROP_FAKE_UNIT_MS: "15" },
    units: 40,
    killAfter: 17,
    file: "eval.csv",
  },
];

describe("crash safety: SIGKILL mid-run, then --resume", () => {
  for (const c of cases) {
    it.runIf(c.enabled)(
      `${c.name}: same rows as an uninterrupted run, none partial or duplicated`,
      async () => {
        const slug = c.name.replace(/\W+/g, "-");
        const reference = join(tmp, `${slug}-reference`);
        const crashed = join(tmp, `${slug}-crashed`);
        const common = [
          "train",
          c.kind,
          ...c.args,
          "--checkpoint-every",
          "5",
          "--no-plots",
          "--progress",
          "none",
        ];
        const first = await runCli([...common, "--out", reference], c.env);
        expect(first.code, first.stderr).toBe(0);

        const seen = await killMidRun(
          [...common, "--out", crashed],
          join(crashed, "metrics.csv"),
          c.killAfter,
          c.env,
        );
        expect(seen).toBeLessThan(c.units);
        // Rows past the last checkpoint are on disk; resume must drop and redo them.
        const resumed = await runCli(["train", c.kind, "--resume", crashed, "--progress", "none"], c.env);
        expect(resumed.stderr).not.toMatch(/sgprop:|Error/);
        expect(resumed.code).toBe(0);
        expect(resumed.stdout).toMatch(/resuming .* from (batch|step) (5|10|15|20)\b/);

        for (const file of ["metrics.csv", c.file]) {
          const a = deterministicColumns(join(reference, file));
          const b = deterministicColumns(join(crashed, file));
          expect(b.length).toBe(a.length);
          expect(b).toEqual(a);
        }
        const unit = c.kind === "popgym" ? "charts/batch" : "charts/step";
        const units = readCsv(join(crashed, "metrics.csv")).rows.map((r) => Number(r[unit]));
        expect(units).toEqual(Array.from({ length: c.units }, (_, i) => i + 1));
        const summary = JSON.parse(readFileSync(join(crashed, "summary.json"), "utf8"));
        expect(summary).toMatchObject({ status: "complete", sessions: 2 });
      },
    );
  }
});

describe("graceful stop: SIGINT or SIGTERM", () => {
  it.each(["SIGINT", "SIGTERM"] as const)(
    "%s checkpoints the current unit, exits 130, and --resume completes the run",
    async (signal) => {
      const env = { SGPROP_TRAINER: "fake", SGPROP_FAKE_UNIT_MS: "20" };
      const dir = join(tmp, `graceful-${signal}`);
      const child = startCli(
        [
          "train",
          "popgym",
          "--preset",
          "tiny",
          "--batches",
          "60",
          "--checkpoint-every",
          "50",
          "--out",
          dir,
          "--no-plots",
        ],
        env,
      );
      const closed = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
      while (csvLines(join(dir, "metrics.csv")).length < 5) await new Promise((r) => setTimeout(r, 5));
      child.kill(signal);
      expect(await closed).toBe(130);
      const rows = csvLines(join(dir, "metrics.csv")).length;
      expect(rows).toBeLessThan(60);
      const summary = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8"));
      expect(summary).toMatchObject({ status: "interrupted", completed: rows });
      const index = JSON.parse(readFileSync(join(dir, "checkpoints/index.json"), "utf8")) as {
        completed: number;
      }[];
      expect(index.at(-1)?.completed).toBe(rows);
      const resumed = await runCli(
        ["train", "popgym", "--resume", dir, "--progress", "none", "--no-plots"],
        env,
      );
      expect(resumed.code).toBe(0);
      expect(readCsv(join(dir, "metrics.csv")).rows.map((r) => Number(r["charts/batch"]))).toEqual(
        Array.from({ length: 60 }, (_, i) => i + 1),
      );
    },
  );
});
