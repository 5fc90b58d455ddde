import type { ParamSpec, ParamValue } from "./schema.js";

type Resolved = Readonly<Record<string, ParamValue | undefined>>;

/** The paper's learning rates (SPEC 6): sparse sgprop 5e-3, sparse backprop 1e-3, MLP 2e-5. */
export function paperBanditLearningRate(r: Resolved): number {
  if (r.model === "mlp") return 2e-5;
  return r.algorithm === "backprop" ? 1e-3 : 5e-3;
}

/** MNIST contextual bandit hyper-parameters (SPEC 3.3, 4.2, 4.6, 5, 6) with the paper's values. */
export const banditParams: readonly ParamSpec[] = [
  {
    key: "model",
    description: "policy network",
    type: { type: "enum", values: ["sparsenet", "mlp"] },
    default: "sparsenet",
  },
  {
    key: "algorithm",
    description: "gradient rule: sgprop mixes backpropagated and synthetic gradients; backprop is theta = 1",
    type: { type: "enum", values: ["sgprop", "backprop"] },
    default: {
      derive: (r) => (r.model === "mlp" ? "backprop" : "sgprop"),
      doc: "sgprop for sparsenet, backprop for mlp",
    },
  },
  {
    key: "seed",
    description: "seed of every random stream of the run",
    type: { type: "integer", min: 0 },
    default: 0,
  },
  {
    key: "learningRate",
    description: "Adam learning rate of the policy parameters",
    type: { type: "number", min: 0, exclusiveMin: true },
    default: {
      derive: paperBanditLearningRate,
      doc: "paper: 5e-3 sparsenet sgprop, 1e-3 sparsenet backprop, 2e-5 mlp",
    },
  },
  {
    key: "sgLearningRate",
    description: "Adam learning rate of the synthetic-gradient predictors",
    type: { type: "number", min: 0, exclusiveMin: true },
    default: 5e-3,
  },
  { key: "steps", description: "policy steps (batches)", type: { type: "integer", min: 1 }, default: 1500 },
  {
    key: "batchSize",
    description: "contexts per policy step",
    type: { type: "integer", min: 1 },
    default: 64,
  },
  {
    key: "evalBatchSize",
    description: "held-out contexts per evaluation (noiseless reward)",
    type: { type: "integer", min: 1 },
    default: 4000,
  },
  {
    key: "numEvals",
    description: "evaluations, evenly spaced over the run",
    type: { type: "integer", min: 0 },
    default: 20,
  },
  {
    key: "pFlip",
    description: "probability that a training reward is flipped",
    type: { type: "number", min: 0, max: 1 },
    default: 0.4,
  },
  {
    key: "classes",
    description: "MNIST classes used as actions (the paper's code drops class 2)",
    type: { type: "integerList", min: 0 },
    default: [0, 1, 3, 4, 5, 6, 7, 8, 9],
  },
  {
    key: "dataDir",
    description: "folder with MNIST IDX files (optionally gzipped); default: the bundled 10,000-digit subset",
    type: { type: "path" },
    default: undefined,
    optional: true,
  },
  { key: "numLayers", description: "hidden layers L", type: { type: "integer", min: 1 }, default: 5 },
  {
    key: "width",
    description: "neurons per layer W (MLP: units per layer)",
    type: { type: "integer", min: 1 },
    default: { derive: (r) => (r.model === "mlp" ? 745 : 200), doc: "paper: 200 sparsenet, 745 mlp" },
  },
  {
    key: "neuronDim",
    description: "SparseNet neuron state size q",
    type: { type: "integer", min: 1 },
    default: 10,
  },
  {
    key: "numSlots",
    description: "SparseNet slots per neuron M",
    type: { type: "integer", min: 1 },
    default: 5,
  },
  {
    key: "numParents",
    description: "SparseNet parents per neuron P",
    type: { type: "integer", min: 1 },
    default: 5,
  },
  {
    key: "residual",
    description: "residual connections between hidden layers",
    type: { type: "boolean" },
    default: { derive: (r) => r.model !== "mlp", doc: "paper: true for sparsenet, false for mlp" },
  },
  {
    key: "thetaInit",
    description: "initial mixing weight theta per neuron",
    type: { type: "number", min: 0, max: 1 },
    default: 0.9,
  },
  {
    key: "adaptiveTheta",
    description: "adapt theta per neuron with eq. 3",
    type: { type: "boolean" },
    default: true,
  },
  {
    key: "thetaMomentum",
    description: "momentum mu of the theta update",
    type: { type: "number", min: 0, max: 1 },
    default: 0.9,
  },
  {
    key: "sgMode",
    description: "synthetic signal: the prediction, or its projection on the true gradient's half-space",
    type: { type: "enum", values: ["prediction", "positive_projection"] },
    default: "prediction",
  },
  {
    key: "thetaEps",
    description: "eq. 3 keeps the previous theta where v + b2 <= eps",
    type: { type: "number", min: 0 },
    default: 1e-6,
  },
  {
    key: "sgStepsPerPolicyStep",
    description: "SG-phase Adam steps before each policy step",
    type: { type: "integer", min: 0 },
    default: 1,
  },
  {
    key: "reusePolicyBatchForSg",
    description: "the SG phase trains on the policy step's batch (paper) instead of a fresh one",
    type: { type: "boolean" },
    default: true,
  },
  {
    key: "updateSharedKeysInSgPhase",
    description: "let the SG phase update the routing keys it shares with the policy (paper: frozen)",
    type: { type: "boolean" },
    default: false,
  },
  {
    key: "mixActionLayerGradient",
    description: "mix synthetic gradients at the action layer too (paper: off)",
    type: { type: "boolean" },
    default: false,
  },
  {
    key: "thetaActionInit",
    description: "initial theta of the action layer when it is mixed",
    type: { type: "number", min: 0, max: 1 },
    default: 1,
  },
  {
    key: "backend",
    description: "TensorFlow.js backend (default: wasm, falling back to cpu)",
    type: { type: "enum", values: ["wasm", "cpu", "tensorflow"] },
    default: undefined,
    optional: true,
  },
];
