import type { ParamSpec, ParamValue } from "./schema.js";
import {
  algorithmParam,
  backendParam,
  positiveInteger,
  seedParam,
  sgLearningRateParam,
  sgModeParam,
  sparseNetShapeParams,
  thetaParams,
} from "./shared-params.js";

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
  algorithmParam(
    (r) => (r.model === "mlp" ? "backprop" : "sgprop"),
    "sgprop for sparsenet, backprop for mlp",
  ),
  seedParam,
  {
    key: "learningRate",
    description: "Adam learning rate of the policy parameters",
    type: { type: "number", min: 0, exclusiveMin: true },
    default: {
      derive: paperBanditLearningRate,
      doc: "paper: 5e-3 sparsenet sgprop, 1e-3 sparsenet backprop, 2e-5 mlp",
    },
  },
  sgLearningRateParam(5e-3),
  {
    key: "policyWeightDecay",
    description: "L2 weight decay of the policy Adam, as torch's Adam weight_decay (paper: 0)",
    type: { type: "number", min: 0 },
    default: 0,
  },
  {
    key: "sgWeightDecay",
    description: "L2 weight decay of the SG-predictor Adam (paper: 0)",
    type: { type: "number", min: 0 },
    default: 0,
  },
  positiveInteger("steps", "policy steps (batches)", 1500),
  positiveInteger("batchSize", "contexts per policy step", 64),
  positiveInteger("evalBatchSize", "held-out contexts per evaluation (noiseless reward)", 4000),
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
  positiveInteger("numLayers", "hidden layers L", 5),
  positiveInteger("width", "neurons per layer W (MLP: units per layer)", {
    derive: (r) => (r.model === "mlp" ? 745 : 200),
    doc: "paper: 200 sparsenet, 745 mlp",
  }),
  ...sparseNetShapeParams({ neuronDim: 10, numSlots: 5, numParents: 5 }),
  {
    key: "residual",
    description: "residual connections between hidden layers",
    type: { type: "boolean" },
    default: { derive: (r) => r.model !== "mlp", doc: "paper: true for sparsenet, false for mlp" },
  },
  ...thetaParams(0.9),
  sgModeParam,
  {
    key: "thetaEps",
    description: "eq. 3 keeps the previous theta where v + b2 <= eps",
    type: { type: "number", min: 0 },
    default: 1e-6,
  },
  {
    key: "sgStepsPerPolicyStep",
    description: "SG-phase Adam steps before each policy step",
    type: { type: "integer", min: 1 },
    hint: "to train without synthetic gradients, use --algorithm backprop",
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
    key: "duringTraining",
    description:
      "every K steps (and after step 1) a small gradient diagnosis (sgprop diagnose) adds diagnose/ columns to metrics.csv; 0 = off (SparseNet)",
    type: { type: "integer", min: 0 },
    default: 0,
  },
  {
    key: "duringTrainingPool",
    description: "samples in the pool of each --during-training diagnosis",
    type: { type: "integer", min: 2 },
    default: 1024,
  },
  backendParam,
];
