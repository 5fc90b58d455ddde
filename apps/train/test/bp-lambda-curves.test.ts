import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { renderSvg } from "../src/plot/index.js";
import {
  binnedCurve,
  bpLambdaCurveFigure,
  type CurveRun,
  curveRows,
  readBpLambdaRun,
} from "../src/report/bp-lambda-curves.js";

function run(method: string, seed: number, lengths: number[], losses: number[]): CurveRun {
  return {
    task: "copy-repeat",
    method,
    seed,
    train: lengths.map((T, i) => ({
      "charts/batch": i + 1,
      "charts/length": T,
      "losses/bits": losses[i] ?? 0,
    })),
    evalRows: [],
  };
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("BP(lambda) learning curves (Figs. 3-5)", () => {
  it("averages a run's values per bin of batches, plotted at the bin's last batch", () => {
    const curve = binnedCurve(run("BP(1)", 0, [5, 5, 7, 7, 9], [1, 3, 0.5, 0.5, 0.2]), {
      panel: "loss",
      source: "train",
      key: "losses/bits",
      bin: 2,
    });
    expect([...curve.entries()]).toEqual([
      [2, 2],
      [4, 0.5],
      [6, 0.2],
    ]);
    const held = binnedCurve(run("BP(1)", 0, [5, 5, 7, 7, 9], []), {
      panel: "T",
      source: "train",
      key: "charts/length",
      bin: 3,
      hold: true,
    });
    expect([...held.entries()]).toEqual([
      [3, 7],
      [6, 9],
    ]);
  });

  it("takes mean +/- SEM over seeds and holds a finished run's score only when asked", () => {
    const runs = [
      run("BP(1)", 0, [5, 7, 9, 11], []),
      run("BP(1)", 1, [5, 7], []),
      run("BP(0)", 0, [5, 5], []),
    ];
    const metric = { panel: "T", source: "train" as const, key: "charts/length", bin: 1 };
    const held = curveRows(runs, { ...metric, hold: true }, ["BP(0)", "BP(1)"]);
    expect(held.map((r) => r.series)).toEqual(["BP(0)", "BP(0)", "BP(1)", "BP(1)", "BP(1)", "BP(1)"]);
    const at4 = held.find((r) => r.series === "BP(1)" && r.x === 4);
    // seed 1 stopped at T = 7 after 2 batches: it counts with 7 at batch 4
    expect(at4?.mean).toBe(9);
    expect((at4?.hi ?? 0) - 9).toBeCloseTo(2, 12);
    const bare = curveRows(runs, metric).find((r) => r.series === "BP(1)" && r.x === 4);
    expect(bare).toMatchObject({ mean: 11, lo: 11, hi: 11 });
  });

  it("reads a results folder (method label from config.json) and draws a two-panel figure", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bpl-curves-"));
    dirs.push(dir);
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({ options: { task: "seq-mnist", method: "bptt-sg", n: 3, seed: 2 } }),
    );
    writeFileSync(join(dir, "metrics.csv"), "charts/batch,losses/loss\n1,2.3\n2,2.1\n");
    writeFileSync(join(dir, "eval.csv"), "charts/batch,eval/accuracy\n2,0.25\n");
    const r = readBpLambdaRun(dir);
    expect(r).toMatchObject({ task: "seq-mnist", method: "BPTT+SG n=3", seed: 2 });
    expect(bpLambdaCurveFigure("toy", [r], "")).toBeNull();
    const fig = bpLambdaCurveFigure("seq-mnist", [r], "tiny");
    expect(fig?.name).toBe("fig4-seq-mnist");
    const accuracy = fig?.rows.filter((row) => row.panel === "test accuracy (%)");
    expect(accuracy?.map((row) => [row.x, row.mean])).toEqual([[2, 25]]);
    const svg = await renderSvg(fig?.spec as NonNullable<typeof fig>["spec"]);
    expect(svg).toContain("test accuracy (%)");
    expect(svg).toContain("BPTT+SG n=3");
  });
});
