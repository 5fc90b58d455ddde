import type { ParamSpec } from "./schema.js";
import { backendParam, positiveInteger, seedParam } from "./shared-params.js";

/**
 * `sgprop train dni`: the experiments of Czarnecki et al. 2017 (@sgprop/dni). The keys are those
 * of DniTrainOptions; defaults are the paper's where it states them (Table 2: Adam 3e-5, 10 data
 * sets, 10 hidden layers, k = 2 and 100; Fig. 4: 512 units, batch norm, one SG in the middle).
 */
export const dniParams: readonly ParamSpec[] = [
  {
    key: "experiment",
    description:
      "critical-point (Prop. 1), table2 (artificial data), loss-surface (Figs. 2, 9), mnist (Fig. 4), representations (Figs. 7-8)",
    type: { type: "enum", values: ["critical-point", "table2", "loss-surface", "mnist", "representations"] },
    default: "table2",
  },
  seedParam,
  positiveInteger("steps", "steps per run (table2: per data set and method)", 100_000),
  {
    key: "learningRate",
    description: "learning rate (Adam; gradient descent for critical-point)",
    type: { type: "number", min: 0, exclusiveMin: true },
    default: 3e-5,
  },
  {
    key: "sgLearningRate",
    description: "learning rate of the SG modules (default: --learning-rate; critical-point: 10x)",
    type: { type: "number", min: 0, exclusiveMin: true },
    default: undefined,
    optional: true,
  },
  { key: "a0", description: "critical-point: initial a", type: { type: "number" }, default: 1 },
  { key: "b0", description: "critical-point: initial b", type: { type: "number" }, default: 2.5 },
  { key: "c0", description: "critical-point: initial constant SG c", type: { type: "number" }, default: 0 },
  {
    key: "dims",
    description: "table2: input dimensions k (100 points for k = 2, 1000 for k = 100, else 10 k)",
    type: { type: "integerList", min: 1 },
    default: [2, 100],
  },
  positiveInteger("datasets", "table2: data sets per cell", 10),
  {
    key: "models",
    description: "table2: the models trained: both (the table), shallow or deep only",
    type: { type: "enum", values: ["both", "shallow", "deep"] },
    default: "both",
  },
  positiveInteger("hiddenLayers", "hidden layers (table2 deep models, mnist)", 10),
  {
    key: "sgPlacement",
    description: "where SG modules go: middle (one), every (fully unlocked), output",
    type: { type: "enum", values: ["middle", "every", "output"] },
    default: "every",
  },
  {
    key: "method",
    description: "mnist: learning rule",
    type: { type: "enum", values: ["backprop", "sg", "fa", "dfa"] },
    default: "sg",
  },
  {
    key: "activation",
    description: "mnist: hidden activation",
    type: { type: "enum", values: ["relu", "sigmoid", "tanh", "linear"] },
    default: "relu",
  },
  positiveInteger("width", "mnist: units per hidden layer", 512),
  positiveInteger("batchSize", "mnist: examples per step", 256),
  { key: "batchNorm", description: "mnist: batch normalisation", type: { type: "boolean" }, default: true },
  {
    key: "sgForm",
    description: "mnist: SG module form",
    type: { type: "enum", values: ["linear", "sigmoid-linear"] },
    default: "linear",
  },
  {
    key: "conditioning",
    description: "SG inputs: both (h A + y B + C), activation (h A + C), label (y B + C), none (C)",
    type: { type: "enum", values: ["both", "activation", "label", "none"] },
    default: "both",
  },
  {
    key: "numEvals",
    description: "mnist: test evaluations, evenly spaced",
    type: { type: "integer", min: 0 },
    default: 10,
  },
  {
    key: "dataDir",
    description: "mnist: folder with MNIST IDX files; default: the bundled 10,000-digit subset",
    type: { type: "path" },
    default: undefined,
    optional: true,
  },
  backendParam,
];
