import { describe, expect, it } from "vitest";
import { bestLearningRates, groupRuns, meanCurve } from "../src/report/aggregate.js";
import type { LoadedRun, LoadedSweep } from "../src/report/load.js";
import { markdownTable } from "../src/report/write-report.js";

function fakeRun(
  method: string,
  learningRate: number,
  seed: number,
  rewards: number[],
  status: LoadedRun["status"] = "complete",
): LoadedRun {
  return {
    run: {
      id: `${method}-${learningRate}-${seed}`,
      method,
      params: { learningRate, seed },
      options: { learningRate, seed, algorithm: "sgprop" },
    },
    status,
    train: rewards.map((r, i) => ({ "charts/batch": i + 1, "charts/return_mean": r })),
    evalRows: [],
    setting: "all",
  };
}

describe("aggregation over seeds", () => {
  it("meanCurve aligns runs on the unit and gives mean and SEM per unit", () => {
    const c = meanCurve([
      [
        { unit: 1, value: 1 },
        { unit: 2, value: 3 },
      ],
      [
        { unit: 1, value: 3 },
        { unit: 2, value: Number.NaN },
      ],
    ]);
    expect(c).toEqual([
      { unit: 1, mean: 2, sem: 1, n: 2 },
      { unit: 2, mean: 3, sem: 0, n: 1 },
    ]);
  });

  it("groups by method and learning rate, ranks learning rates by AUC, ignores failed runs", () => {
    const loaded: LoadedSweep = {
      dir: "/x",
      sweep: { name: "s", kind: "popgym", checkpointEvery: 1, keepCheckpoints: 1, runs: [] },
      runs: [
        fakeRun("sg", 0.001, 0, [0, 0, 0, 1]),
        fakeRun("sg", 0.001, 1, [0, 0, 1, 1]),
        fakeRun("sg", 0.004, 0, [1, 1, 1, 1]),
        fakeRun("sg", 0.004, 1, [0, 1, 1, 1]),
        fakeRun("sg", 0.004, 2, [9, 9, 9, 9], "failed"),
      ],
    };
    const groups = groupRuns(loaded, "charts/return_mean", "train");
    expect(groups).toHaveLength(2);
    const slow = groups.find((g) => g.learningRate === 0.001);
    expect(slow?.auc).toEqual({ mean: 0.375, sem: 0.125, n: 2 });
    expect(slow?.final).toEqual({ mean: 1, sem: 0, n: 2 });
    const best = bestLearningRates(groups);
    expect(best.map((g) => [g.method, g.learningRate, g.runs.length])).toEqual([["sg", 0.004, 2]]);
  });

  it("Markdown tables escape pipes and right-align numbers", () => {
    expect(markdownTable(["a", "b", "n"], [["x|y", "z", "1"]])).toBe(
      "| a | b | n |\n| --- | --- | ---: |\n| x\\|y | z | 1 |",
    );
  });
});
