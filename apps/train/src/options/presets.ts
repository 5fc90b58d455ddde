import { dniPresets } from "./dni-presets.js";
import type { Preset } from "./schema.js";

export type { Preset } from "./schema.js";

export type TrainKind = "popgym" | "bandit" | "dni";

/** Named settings of the paper (SPEC 6) plus short runs for demos and tests. */
export const presets: Readonly<Record<TrainKind, Readonly<Record<string, Preset>>>> = {
  popgym: {
    "paper-escape": {
      description: "LabyrinthEscape 6x6, episode 80, 20 envs, 300 batches (Fig. 3)",
      values: { env: "escape" },
    },
    "paper-explore": {
      description: "LabyrinthExplore 6x6, episode 40, 20 envs, 300 batches (Fig. 3)",
      values: { env: "explore" },
    },
    "paper-escape-40": {
      description: "LabyrinthEscape 6x6 with 40 parallel envs (Fig. 7)",
      values: { env: "escape", numEnvs: 40 },
    },
    "paper-explore-40": {
      description: "LabyrinthExplore 6x6 with 40 parallel envs (Fig. 7)",
      values: { env: "explore", numEnvs: 40 },
    },
    quick: {
      description:
        "the `pnpm train` demo: paper-sized SparseNet sgprop on LabyrinthEscape 6x6, 20 batches of 20 envs, lr 4e-3 (the paper sweep's largest, fastest in short runs)",
      values: { env: "escape", batches: 20, learningRate: 4e-3 },
    },
    tiny: {
      description: "smoke test: tiny network, 4 batches of 2 envs",
      values: {
        batches: 4,
        numEnvs: 2,
        episodeLength: 12,
        width: 8,
        neuronDim: 2,
        numSlots: 2,
        numParents: 2,
        numInputNeurons: 2,
        embedHidden: 8,
        embedDim: 8,
        actorSlots: 2,
        hiddenSize: 8,
        actorHiddenSize: 8,
      },
    },
  },
  bandit: {
    "paper-sgprop": {
      description: "SparseNet 5x200 sgprop, lr 5e-3 (Fig. 5)",
      values: { model: "sparsenet", algorithm: "sgprop" },
    },
    "paper-backprop": {
      description: "SparseNet 5x200 backprop, lr 1e-3 (Fig. 5)",
      values: { model: "sparsenet", algorithm: "backprop" },
    },
    "paper-mlp": {
      description: "MLP 5x745 backprop, lr 2e-5 (Fig. 5)",
      values: { model: "mlp", algorithm: "backprop" },
    },
    quick: {
      description: "paper-sized SparseNet, 300 steps, 10 evaluations of 1000 contexts",
      values: { steps: 300, numEvals: 10, evalBatchSize: 1000 },
    },
    tiny: {
      description: "smoke test: tiny network, 6 steps, 2 evaluations",
      values: {
        steps: 6,
        batchSize: 8,
        evalBatchSize: 16,
        numEvals: 2,
        numLayers: 2,
        width: 8,
        neuronDim: 2,
        numSlots: 2,
        numParents: 2,
      },
    },
  },
  dni: dniPresets,
};
