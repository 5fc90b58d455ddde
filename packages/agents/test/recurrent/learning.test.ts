import { Rng } from "@sgprop/gym";
import { LabyrinthVectorEnv } from "@sgprop/popgym";
import { beforeAll, describe, expect, it } from "vitest";
import { PAPER_UPDATE_HYPER, SparseNetLearner } from "../../src/recurrent/learner.js";
import { SparseNetPolicy } from "../../src/recurrent/sparsenet.js";
import { collectRollout } from "../../src/reinforce/rollout.js";
import { SparseNetStepper } from "../../src/reinforce/trainer.js";
import { useBackend } from "../helpers.js";

describe("learning", () => {
  beforeAll(async () => {
    await useBackend("cpu");
  });

  it("SparseNet sgprop learns to escape a fixed 6x6 maze within 8 batches", () => {
    const numEnvs = 16;
    // POPGym's own maze of seed 1 (the trainer's default generator); how many batches a maze needs
    // depends on its layout, so the maze is pinned.
    const env = new LabyrinthVectorEnv({ kind: "escape", numEnvs, generator: "reference" });
    const policy = SparseNetPolicy.create(
      {
        obsDim: 56,
        numActions: 4,
        width: 16,
        neuronDim: 4,
        numParents: 4,
        numSlots: 2,
        numInputNeurons: 8,
        embedHidden: 32,
        embedDim: 32,
        actorSlots: 2,
      },
      Rng.fromSeed(1),
    );
    const learner = new SparseNetLearner(policy, { ...PAPER_UPDATE_HYPER, learningRate: 1e-2 }, 1);
    const stepper = new SparseNetStepper(policy);
    const actions = Rng.fromSeed(2);
    const maze = new Array<number>(numEnvs).fill(1);
    const evaluate = () => {
      const r = collectRollout(env, stepper, maze, 80, actions);
      return {
        success: r.successes.filter(Boolean).length / numEnvs,
        length: r.episodeLengths.reduce((a, b) => a + b, 0) / numEnvs,
      };
    };
    const initial = evaluate();
    for (let k = 0; k < 8; k++) learner.update(collectRollout(env, stepper, maze, 80, actions).batch);
    const final = evaluate();
    // The random initial policy wanders (mean episode ~60 of 80 steps, under half reach the goal);
    // 16 of 16 sampled episodes reaching the goal in 20 steps on average cannot happen by chance.
    expect(initial.length).toBeGreaterThan(40);
    expect(initial.success).toBeLessThan(0.7);
    expect(final.success).toBe(1);
    expect(final.length).toBeLessThan(20);
    expect(learner.theta.every((t) => t >= 0 && t <= 1)).toBe(true);
    learner.dispose();
    policy.dispose();
  });
});
