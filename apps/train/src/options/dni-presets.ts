import type { Preset } from "./schema.js";

/**
 * `sgprop train dni` presets: the paper's experiments (Czarnecki et al. 2017) and scaled-down
 * versions that finish in seconds or minutes on 2 cores (times in the @sgprop/dni README).
 */
export const dniPresets: Readonly<Record<string, Preset>> = {
  "critical-point": {
    description:
      "Prop. 1: data {-2,-1,1,2}, a x + b, sum |a x + b|, constant SG c; SG vs backprop, 1000 steps",
    values: { experiment: "critical-point", steps: 1000, learningRate: 0.01 },
  },
  "table2-paper": {
    description:
      "Table 2 at the paper's settings: k = 2 and 100, 10 data sets, Adam 3e-5, 100,000 steps (days on 2 cores)",
    values: { experiment: "table2" },
  },
  "table2-quick": {
    description:
      "Table 2 scaled down: k = 2, 3 data sets, shallow and 10-layer deep (one SG in the middle), Adam 1e-2, 5000 steps",
    values: {
      experiment: "table2",
      dims: [2],
      datasets: 3,
      learningRate: 1e-2,
      steps: 5000,
      sgPlacement: "middle",
    },
  },
  "loss-surface": {
    description:
      "Figs. 2 and 9: the losses a linear SG implies (with/without labels/activations), 2000 steps",
    values: { experiment: "loss-surface", steps: 2000, learningRate: 1e-2 },
  },
  "mnist-paper": {
    description:
      "Fig. 4: MNIST, 512-unit ReLU layers with batch norm, one SG in the middle (set --hidden-layers 3..50)",
    values: {
      experiment: "mnist",
      hiddenLayers: 3,
      sgPlacement: "middle",
      learningRate: 3e-5,
      steps: 50_000,
    },
  },
  "mnist-quick": {
    description: "Fig. 4 scaled down: 3 hidden layers of 128, one SG in the middle, 300 steps of 64",
    values: {
      experiment: "mnist",
      hiddenLayers: 3,
      width: 128,
      batchSize: 64,
      sgPlacement: "middle",
      learningRate: 1e-3,
      steps: 300,
      numEvals: 5,
    },
  },
  "representations-quick": {
    description:
      "Figs. 7-8 scaled down: backprop, one SG, SG everywhere and DFA on 3 x 128 ReLU + BN, 300 steps of 64, then RDMs and probes",
    values: {
      experiment: "representations",
      hiddenLayers: 3,
      width: 128,
      batchSize: 64,
      learningRate: 1e-3,
      steps: 300,
    },
  },
  tiny: {
    description: "smoke test: the critical-point example for 20 steps",
    values: { experiment: "critical-point", steps: 20, learningRate: 0.01 },
  },
};
