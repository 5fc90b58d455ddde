import { describe, expect, it } from "vitest";
import {
  applyQuick,
  type PAPER_SWEEPS,
  paperSweepPath,
  QUICK_OVERRIDES,
} from "../src/reproduce/experiments.js";
import { expandSweep, readSweepFile, type SweepRun } from "../src/sweep/spec.js";

// The authors' grids (jackyzyb/sgprop: exp-mnist-bandit/run_sweeps.sh, run_sweeps_fix_theta.sh,
// exp-popgym/run_sweeps_{escape,explore}.sh), written out here independently of the sweep files, as
// issue 18 states them. Each sweep file's expanded run list must equal them, with the runs the
// scripts repeat (the ablations' base point, theta 0 listed twice) run once.

const SEEDS = [0, 1, 2, 3, 4, 5];
const SPARSE_LRS = [5e-4, 1e-3, 2e-3, 5e-3, 1e-2];
const MLP_LRS = [5e-6, 1e-5, 2e-5, 5e-5, 1e-4];
const BASE_LR: Record<string, number> = {
  sparse_sgprop_fixed_theta: 5e-3,
  sparse_sgprop_adaptive: 5e-3,
  sparse_backprop: 1e-3,
  mlp: 2e-5,
};
const BANDIT_METHODS = Object.keys(BASE_LR);
const SPARSE_METHODS = BANDIT_METHODS.filter((m) => m !== "mlp");

/** The settings that define a run of the authors' bandit script (run_one's arguments). */
function banditKey(r: SweepRun): string {
  const o = r.options;
  const method = r.method;
  const model = o.model === "mlp" ? "mlp" : "sparse";
  // the script's per-variant flags
  const variant =
    model === "mlp"
      ? o.algorithm === "backprop" && o.residual === false && o.width === 745
      : method === "sparse_backprop"
        ? o.algorithm === "backprop" && o.residual === true
        : o.algorithm === "sgprop" &&
          o.residual === true &&
          (method === "sparse_sgprop_adaptive"
            ? o.adaptiveTheta === true && o.thetaMomentum === 0.9 && o.thetaInit === 0.9
            : o.adaptiveTheta === false && o.thetaMomentum === 1);
  expect(variant, `${r.id}: the script's flags for ${method}`).toBe(true);
  // everything the script holds fixed
  expect([
    o.steps,
    o.batchSize,
    o.evalBatchSize,
    o.sgLearningRate,
    o.numLayers,
    o.neuronDim,
    o.numSlots,
  ]).toEqual([1500, 64, 4000, 5e-3, 5, 10, 5]);
  expect([o.policyWeightDecay, o.sgWeightDecay, o.sgStepsPerPolicyStep, o.reusePolicyBatchForSg]).toEqual([
    0,
    0,
    1,
    true,
  ]);
  expect(o.updateSharedKeysInSgPhase).toBe(false);
  expect(o.classes).toEqual([0, 1, 3, 4, 5, 6, 7, 8, 9]);
  if (model === "sparse") expect(o.width).toBe(200);
  return JSON.stringify([
    method,
    o.seed,
    o.pFlip,
    o.learningRate,
    model === "mlp" ? 5 : o.numParents,
    o.thetaInit,
  ]);
}

function expand(name: string): SweepRun[] {
  return [...expandSweep(readSweepFile(paperSweepPath(name as never)), name).runs];
}

const key = (method: string, seed: number, pFlip: number, lr: number, parents: number, theta: number) =>
  JSON.stringify([
    method,
    seed,
    pFlip,
    lr,
    parents,
    method === "sparse_sgprop_adaptive" || method === "sparse_sgprop_fixed_theta"
      ? theta
      : method === "mlp"
        ? 0.9
        : 0.9,
  ]);

function sorted(keys: Iterable<string>): string[] {
  return [...keys].sort();
}

describe("the paper's sweep files against the authors' grids", () => {
  const lr = expand("paper-bandit-lr");
  const pflip = expand("paper-bandit-pflip");
  const parents = expand("paper-bandit-parents");
  const fixed = expand("paper-bandit-fixed-theta");

  it("Fig. 5/6a: four methods x their lr grid x seeds 0-5 at pFlip 0.4, 5 parents", () => {
    const expected = BANDIT_METHODS.flatMap((m) =>
      (m === "mlp" ? MLP_LRS : SPARSE_LRS).flatMap((l) => SEEDS.map((s) => key(m, s, 0.4, l, 5, 0.9))),
    );
    expect(lr).toHaveLength(120);
    expect(sorted(lr.map(banditKey))).toEqual(sorted(expected));
  });

  it("Fig. 6b: pFlip 0-0.4 for all four methods at their base lr (0.4 from the lr sweep, run once)", () => {
    const flips = [0, 0.1, 0.2, 0.3, 0.4];
    const expected = BANDIT_METHODS.flatMap((m) =>
      flips.flatMap((p) => SEEDS.map((s) => key(m, s, p, BASE_LR[m] as number, 5, 0.9))),
    );
    const got = pflip.map(banditKey);
    const borrowed = new Set(lr.map(banditKey));
    const union = new Set([...got, ...expected.filter((k) => borrowed.has(k))]);
    expect(new Set(got).size).toBe(got.length);
    expect(
      got.some((k) => borrowed.has(k)),
      "no run of the lr sweep is run again",
    ).toBe(false);
    expect(sorted(union)).toEqual(sorted(expected));
  });

  it("Fig. 6c: parents 2-14 for the three SparseNet methods at their base lr (5 from the lr sweep)", () => {
    const counts = [2, 5, 8, 11, 14];
    const expected = SPARSE_METHODS.flatMap((m) =>
      counts.flatMap((c) => SEEDS.map((s) => key(m, s, 0.4, BASE_LR[m] as number, c, 0.9))),
    );
    const got = parents.map(banditKey);
    const borrowed = new Set(lr.map(banditKey));
    expect(got.some((k) => borrowed.has(k))).toBe(false);
    expect(sorted(new Set([...got, ...expected.filter((k) => borrowed.has(k))]))).toEqual(sorted(expected));
  });

  it("Fig. 2c: fixed theta 0, 0.5, 1.0 (momentum 1.0) at lr 5e-3, seeds 0-5, theta 0 once", () => {
    const expected = [0, 0.5, 1].flatMap((t) =>
      SEEDS.map((s) => key("sparse_sgprop_fixed_theta", s, 0.4, 5e-3, 5, t)),
    );
    expect(sorted(fixed.map(banditKey))).toEqual(sorted(expected));
    // the adaptive and backprop lines of plot_theta_ablation.py are runs of the lr sweep
    expect(lr.some((r) => r.method === "sparse_sgprop_adaptive" && r.options.learningRate === 5e-3)).toBe(
      true,
    );
    expect(lr.some((r) => r.method === "sparse_backprop" && r.options.learningRate === 1e-3)).toBe(true);
  });

  it.each(["escape", "explore"])(
    "Fig. 3/7 %s: 4 models x 20/40 envs x 5 lr x seeds 0-5, 300 batches",
    (env) => {
      const runs = expand(`paper-popgym-${env}`);
      const models: Record<string, [string, string, boolean]> = {
        gru: ["gru", "backprop", true],
        sparsenet_backprop: ["sparsenet", "backprop", true],
        sparsenet_sgprop_adaptive: ["sparsenet", "sgprop", true],
        lstm: ["lstm", "backprop", true],
      };
      const got = runs.map((r) => {
        const o = r.options;
        expect([o.model, o.algorithm, o.adaptiveTheta]).toEqual(models[r.method]);
        expect([o.env, o.batches, o.episodeLength, o.rolloutLength, o.mazeDims]).toEqual([
          env,
          300,
          env === "escape" ? 80 : 40,
          env === "escape" ? 80 : 40,
          [6, 6],
        ]);
        expect([o.sgLearningRate, o.gamma, o.entropyCoef, o.normalizeReturns, o.maxGradNorm]).toEqual([
          1e-5,
          0.95,
          0.01,
          true,
          0.5,
        ]);
        expect([
          o.width,
          o.neuronDim,
          o.numParents,
          o.numSlots,
          o.actorSlots,
          o.numInputNeurons,
          o.hiddenSize,
        ]).toEqual([128, 6, 6, 6, 6, 16, 256]);
        expect([o.thetaInit, o.thetaMomentum, o.exploreRewardZeroProb]).toEqual([1, 0.9, 0.75]);
        return JSON.stringify([r.method, o.numEnvs, o.learningRate, o.seed]);
      });
      const expected = Object.keys(models).flatMap((m) =>
        [20, 40].flatMap((n) =>
          [2e-4, 5e-4, 1e-3, 2e-3, 4e-3].flatMap((l) => SEEDS.map((s) => JSON.stringify([m, n, l, s]))),
        ),
      );
      expect(sorted(got)).toEqual(sorted(expected));
    },
  );

  it("every quick variant keeps each figure's methods and the base points the ablations borrow", () => {
    const quick = (name: (typeof PAPER_SWEEPS)[number]) =>
      expandSweep(applyQuick(readSweepFile(paperSweepPath(name)), QUICK_OVERRIDES[name]), name).runs;
    const qLr = quick("paper-bandit-lr");
    expect(new Set(qLr.map((r) => r.method))).toEqual(new Set(BANDIT_METHODS));
    for (const m of BANDIT_METHODS)
      expect(
        qLr.some((r) => r.method === m && r.options.learningRate === BASE_LR[m]),
        m,
      ).toBe(true);
    expect(new Set(quick("paper-bandit-pflip").map((r) => r.method))).toEqual(new Set(BANDIT_METHODS));
    expect(new Set(quick("paper-bandit-parents").map((r) => r.method))).toEqual(new Set(SPARSE_METHODS));
    for (const env of ["escape", "explore"] as const) {
      const runs = quick(`paper-popgym-${env}`);
      expect(new Set(runs.map((r) => r.options.numEnvs))).toEqual(new Set([20, 40]));
      expect(new Set(runs.map((r) => r.method)).size).toBe(4);
    }
  });
});
