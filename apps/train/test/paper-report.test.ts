import { describe, expect, it } from "vitest";
import { renderSvg } from "../src/plot/index.js";
import type { LoadedRun, LoadedSweep } from "../src/report/load.js";
import { findPaperSweeps } from "../src/report/paper-data.js";
import { paperFigures } from "../src/report/paper-figures.js";
import type { SweepRun } from "../src/sweep/spec.js";

// The paper's figures drawn from synthetic sweeps: which figures appear, what their panels hold, and
// that every tick label is readable (no 0.0000000012-style numbers).

function banditRun(method: string, options: Record<string, unknown>, scale: number): LoadedRun {
  const evalRows = [1, 20, 40].map((step, i) => ({
    "charts/step": step,
    "eval/reward": scale * (i + 1) * 1e-9,
  }));
  const train = [1, 20, 40].map((step) => ({
    "charts/step": step,
    "sgprop/theta_mean_0": 0.9 - step * 1e-3,
    "sgprop/theta_mean_1": 0.9 - step * 2e-3,
  }));
  const run = {
    id: `${method}${JSON.stringify(options)}`,
    method,
    params: {},
    options,
  } as unknown as SweepRun;
  return { run, status: "complete", train, evalRows, setting: "all" };
}

function popgymRun(method: string, options: Record<string, unknown>, level: number): LoadedRun {
  const train = [1, 2, 3, 4].map((batch) => ({
    "charts/batch": batch,
    "charts/success_rate": level * batch,
    "sgprop/theta_mean": 0.99,
    "sgprop/theta_p10": 0.98,
    "sgprop/theta_p50": 0.99,
    "sgprop/theta_p90": 1,
  }));
  const run = {
    id: `${method}${JSON.stringify(options)}`,
    method,
    params: {},
    options,
  } as unknown as SweepRun;
  return { run, status: "complete", train, evalRows: [], setting: "all" };
}

function sweep(name: string, kind: "bandit" | "popgym", runs: LoadedRun[]): LoadedSweep {
  return {
    dir: name,
    sweep: { name, kind, checkpointEvery: 1, keepCheckpoints: 1, runs: runs.map((r) => r.run) },
    runs,
  };
}

const seeds = [0, 1];
const lrs: Record<string, number[]> = {
  sparse_sgprop_adaptive: [1e-3, 5e-3],
  sparse_sgprop_fixed_theta: [1e-3, 5e-3],
  sparse_backprop: [1e-3, 5e-3],
  mlp: [2e-5, 1e-4],
};
const lrRuns = Object.entries(lrs).flatMap(([m, list]) =>
  list.flatMap((lr) =>
    seeds.map((seed) => banditRun(m, { seed, learningRate: lr, pFlip: 0.4, numParents: 5 }, 1 + seed)),
  ),
);
const fixedRuns = [0, 0.5, 1].flatMap((t) =>
  seeds.map((seed) => banditRun("sparse_sgprop_fixed_theta", { seed, learningRate: 5e-3, thetaInit: t }, 2)),
);
const popRuns = ["gru", "lstm", "sparsenet_backprop", "sparsenet_sgprop_adaptive"].flatMap((m, i) =>
  [20, 40].flatMap((numEnvs) =>
    [2e-4, 4e-3].flatMap((lr) =>
      seeds.map((seed) => popgymRun(m, { seed, learningRate: lr, numEnvs }, 0.01 * (i + 1))),
    ),
  ),
);

describe("the paper's figures", () => {
  const figures = paperFigures(
    findPaperSweeps([
      sweep("paper-bandit-lr-quick", "bandit", lrRuns),
      sweep("paper-bandit-fixed-theta", "bandit", fixedRuns),
      sweep("paper-popgym-escape", "popgym", popRuns),
    ]),
    { bandit: [], popgym: [] },
  );

  it("draws the figures its sweeps allow, in the paper's order", () => {
    expect(figures.map((f) => f.name)).toEqual([
      "fig2c-bandit-fixed-theta",
      "fig3-popgym-curves",
      "fig5-bandit-curves",
      "fig6a-bandit-lr",
      "fig6d-bandit-theta",
      "fig7-popgym-lr",
      "fig7-popgym-theta",
    ]);
    const fig2c = figures[0]?.spec as unknown as { data: { values: { series: string }[] } };
    expect(new Set(fig2c.data.values.map((v) => v.series))).toEqual(
      new Set(["adaptive theta", "theta = 0", "theta = 0.5", "theta = 1", "backprop (theta = 1, lr 1e-3)"]),
    );
    const fig3 = figures[1];
    expect(fig3?.notes[0]).toMatch(/Escape, 20 envs, best lr by success AUC: .*GRU 2e-4/);
  });

  it("labels every axis tick readably (SI, scientific or short decimals)", async () => {
    for (const f of figures) {
      const svg = await renderSvg(f.spec);
      const ticks = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1] as string);
      const numeric = ticks.filter((t) => /^[-\d.eµnmk]+$/.test(t) && /\d/.test(t));
      expect(numeric.length, f.name).toBeGreaterThan(3);
      for (const t of numeric) expect(t.length, `${f.name}: tick "${t}"`).toBeLessThanOrEqual(6);
    }
  }, 60_000);
});
