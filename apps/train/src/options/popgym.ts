import { InvalidOptionError } from "../errors.js";
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

/** POPGym labyrinth hyper-parameters (SPEC 3.2, 4.3, 4.4, 4.6, 5, 6) with the paper's values. */
export const popgymParams: readonly ParamSpec[] = [
  {
    key: "model",
    description: "policy network",
    type: { type: "enum", values: ["sparsenet", "gru", "lstm"] },
    default: "sparsenet",
  },
  algorithmParam(
    (r) => (r.model === "sparsenet" ? "sgprop" : "backprop"),
    "sgprop for sparsenet, backprop for gru/lstm",
  ),
  seedParam,
  {
    key: "learningRate",
    description: "Adam learning rate of the policy (paper sweep: 2e-4, 5e-4, 1e-3, 2e-3, 4e-3)",
    type: { type: "number", min: 0, exclusiveMin: true },
    default: 1e-3,
  },
  sgLearningRateParam(1e-5),
  {
    key: "env",
    description: "labyrinth task",
    type: { type: "enum", values: ["escape", "explore"] },
    default: "escape",
  },
  {
    key: "mazeGenerator",
    description:
      "training mazes: reference = POPGym's own generator replayed for each reset seed (the paper's mazes); default = the project's Rng",
    type: { type: "enum", values: ["reference", "default"] },
    default: "reference",
  },
  {
    key: "mazeDims",
    description: "maze height,width (even, >= 6)",
    type: { type: "integerList", min: 6, length: 2 },
    default: [6, 6],
  },
  positiveInteger("episodeLength", "steps before truncation", {
    derive: (r) => (r.env === "explore" ? 40 : 80),
    doc: "paper: 80 escape, 40 explore",
  }),
  positiveInteger("numEnvs", "parallel environments per batch (paper: 20 or 40)", 20),
  positiveInteger("batches", "training batches (each resets all envs)", 300),
  positiveInteger("rolloutLength", "maximum steps rolled out per batch", {
    derive: (r) => r.episodeLength,
    doc: "the episode length",
  }),
  {
    key: "gamma",
    description: "discount factor of the returns",
    type: { type: "number", min: 0, max: 1 },
    default: 0.95,
  },
  {
    key: "entropyCoef",
    description: "entropy bonus coefficient",
    type: { type: "number", min: 0 },
    default: 0.01,
  },
  {
    key: "normalizeReturns",
    description: "normalise each batch's returns to mean 0, std 1 (paper code: --normalize-returns)",
    type: { type: "boolean" },
    default: true,
  },
  {
    key: "maxGradNorm",
    description: "global gradient-norm clip of the policy",
    type: { type: "number", min: 0, exclusiveMin: true },
    default: 0.5,
  },
  {
    key: "exploreRewardZeroProb",
    description: "explore: probability a step's reward becomes -1/episodeLength (paper code: 0.75)",
    type: { type: "number", min: 0, max: 1 },
    default: 0.75,
  },
  positiveInteger("width", "SparseNet neurons W", 128),
  ...sparseNetShapeParams({ neuronDim: 6, numSlots: 6, numParents: 6 }),
  positiveInteger("numInputNeurons", "neurons that read the observation embedding", 16),
  positiveInteger("embedHidden", "first embedding layer size E1", 128),
  positiveInteger("embedDim", "observation embedding size E", 128),
  positiveInteger("actorSlots", "actor slots per action Ma", 6),
  positiveInteger("hiddenSize", "GRU/LSTM hidden size", 256),
  positiveInteger("actorHiddenSize", "GRU/LSTM actor MLP width", 128),
  ...thetaParams(1),
  {
    key: "thetaRho",
    description: "temporal theta schedule rate rho",
    type: { type: "number", min: 0, max: 1 },
    default: 0.1,
  },
  sgModeParam,
  {
    key: "sgRule",
    description:
      "what the SparseNet's SG predictors regress on: gtilde = the mixed gradient (the paper); bp-lambda = the lambda-return of BP(lambda) (Pemberton & Costa, eq. 11; --sg-lambda)",
    type: { type: "enum", values: ["gtilde", "bp-lambda"] },
    default: { derive: () => undefined, doc: "gtilde (the paper's rule)" },
    optional: true,
  },
  {
    key: "sgLambda",
    description:
      "trace decay lambda of --sg-rule bp-lambda: 0 bootstraps on the next step's prediction, 1 regresses on the true (BPTT) gradient",
    type: { type: "number", min: 0, max: 1 },
    default: { derive: (r) => (r.sgRule === "bp-lambda" ? 1 : undefined), doc: "1 with --sg-rule bp-lambda" },
    optional: true,
  },
  {
    key: "duringTraining",
    description:
      "every K batches (and after batch 1) a small gradient diagnosis (sgprop diagnose) adds diagnose/ columns to metrics.csv; 0 = off (SparseNet)",
    type: { type: "integer", min: 0 },
    default: 0,
  },
  {
    key: "duringTrainingEpisodes",
    description: "episodes in the pool of each --during-training diagnosis",
    type: { type: "integer", min: 2 },
    default: 64,
  },
  backendParam,
];

/** --sg-rule bp-lambda needs SG predictors, and --sg-lambda only means something with it. */
export function checkSgRule(r: Readonly<Record<string, ParamValue>>): void {
  if (r.sgRule === "bp-lambda" && r.algorithm !== "sgprop") {
    throw new InvalidOptionError(
      "--sg-rule",
      r.sgRule,
      `gtilde with --algorithm ${String(r.algorithm)} (BP(lambda) trains SG predictors, which only --algorithm sgprop has)`,
    );
  }
  if (r.sgLambda !== undefined && r.sgRule !== "bp-lambda") {
    throw new InvalidOptionError("--sg-lambda", r.sgLambda, "no value unless --sg-rule bp-lambda is given");
  }
}
