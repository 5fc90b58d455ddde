import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDniTrainer, type DniTrainOptions, restoreDniTrainer, table2Units } from "../src/index.js";
import { useCpu } from "./helpers.js";

beforeAll(useCpu);
const dir = mkdtempSync(join(tmpdir(), "dni-trainer-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cases: [string, Partial<DniTrainOptions>][] = [
  ["critical-point", { experiment: "critical-point", steps: 40, learningRate: 0.01 }],
  [
    "table2",
    { experiment: "table2", steps: 50, learningRate: 0.01, dims: [2], datasets: 1, hiddenLayers: 2 },
  ],
  ["loss-surface", { experiment: "loss-surface", steps: 30, learningRate: 0.05 }],
  [
    "mnist",
    {
      experiment: "mnist",
      steps: 6,
      learningRate: 1e-3,
      hiddenLayers: 2,
      width: 16,
      batchSize: 8,
      numEvals: 2,
      method: "sg",
      sgPlacement: "middle",
    },
  ],
  [
    "representations",
    { experiment: "representations", steps: 4, learningRate: 1e-3, hiddenLayers: 2, width: 16, batchSize: 8 },
  ],
];

describe("sgprop train dni trainers", () => {
  it.each(cases)("%s: a resumed run continues bit for bit", async (name, options) => {
    const straight = await createDniTrainer(options);
    const rows: string[] = [];
    while (straight.completed < straight.total)
      rows.push(JSON.stringify(await straight.next()).replace(/"perf\/step_seconds":[^,}]*,?/, ""));
    straight.dispose();
    const half = Math.floor(rows.length / 2);
    const first = await createDniTrainer(options);
    for (let i = 0; i < half; i++) await first.next();
    const ckpt = join(dir, name);
    await first.saveCheckpoint(ckpt);
    first.dispose();
    const resumed = await restoreDniTrainer(ckpt, options);
    expect(resumed.completed).toBe(half);
    const rest: string[] = [];
    while (resumed.completed < resumed.total)
      rest.push(JSON.stringify(await resumed.next()).replace(/"perf\/step_seconds":[^,}]*,?/, ""));
    resumed.dispose();
    expect(rest).toEqual(rows.slice(half));
  });

  it("table2 enumerates the paper's 2 x 2 x 2 x 3 cells of 10 data sets", () => {
    expect(table2Units([2, 100], 10).length).toBe(240);
  });
});
