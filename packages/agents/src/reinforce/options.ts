import type { BackendName } from "../backend.js";
import { memoryBudgetProblem, popgymMemoryParts } from "../memoryBudget.js";
import { RecurrentConfigError } from "../recurrent/params.js";
import type { SgRule } from "../recurrent/sgTargets.js";
import type { SgMode } from "../sgprop/mixing.js";
import type { VectorLabyrinth } from "./rollout.js";

/** Options of a POPGym REINFORCE run (SPEC 5, 6); {@link defaultPopgymOptions} holds the paper's values. */
export interface PopgymTrainOptions {
  /** Policy network. */
  model: "sparsenet" | "gru" | "lstm";
  /** sgprop mixes backpropagated and synthetic gradients (SparseNet only); backprop is theta = 1. */
  algorithm: "sgprop" | "backprop";
  /** Seed of every random stream of the run (init, actions, env resets, explore rewards). */
  seed: number;
  /** Adam learning rate of the policy (paper sweep 2e-4 .. 4e-3). */
  learningRate: number;
  /** Adam learning rate of the SG predictors. */
  sgLearningRate: number;
  /** Labyrinth task. */
  env: "escape" | "explore";
  /** Maze height, width (even, >= 6). */
  mazeDims: [number, number];
  /**
   * Where the training mazes come from: "reference" (default) replays POPGym's own generator
   * (CPython/numpy draws) for the reset seeds, so a run sees the paper's mazes; "default" builds
   * them from `Rng.fromSeed(resetSeed)`.
   */
  mazeGenerator: "reference" | "default";
  /** Steps before truncation; undefined = 80 (escape) or 40 (explore). */
  episodeLength?: number;
  /** Parallel environments per batch (paper: 20 or 40). */
  numEnvs: number;
  /** Training batches (each resets every env once). */
  batches: number;
  /** Maximum steps per batch; undefined = the episode length. */
  rolloutLength?: number;
  /** Discount of the returns. */
  gamma: number;
  /** Entropy bonus coefficient. */
  entropyCoef: number;
  /** Normalise each batch's valid returns to mean 0, std 1 (paper code: `--normalize-returns`, on). */
  normalizeReturns: boolean;
  /** Global gradient-norm clip (policy; the SG predictors are clipped separately to the same norm). */
  maxGradNorm: number;
  /** Explore only: probability a step's reward becomes -1/episodeLength (paper code 0.75). */
  exploreRewardZeroProb: number;
  /** SparseNet neurons W. */
  width: number;
  /** SparseNet state size q per neuron. */
  neuronDim: number;
  /** SparseNet slots M per neuron. */
  numSlots: number;
  /** SparseNet parents P per neuron. */
  numParents: number;
  /** Neurons that read the observation embedding. */
  numInputNeurons: number;
  /** E1: first embedding layer width. */
  embedHidden: number;
  /** E: observation embedding width. */
  embedDim: number;
  /** Actor slots per action (SparseNet). */
  actorSlots: number;
  /** GRU/LSTM hidden size. */
  hiddenSize: number;
  /** GRU/LSTM actor MLP width. */
  actorHiddenSize: number;
  /** Initial per-neuron theta (paper: 1, then adapted). */
  thetaInit: number;
  /** Adapt theta per neuron with eq. 3. */
  adaptiveTheta: boolean;
  /** Momentum mu of the theta update. */
  thetaMomentum: number;
  /** Rate rho of the temporal theta schedule. */
  thetaRho: number;
  /** Synthetic signal: the prediction, or its projection onto the true gradient's half-space. */
  sgMode: SgMode;
  /**
   * What the SG predictors regress on (SparseNet, sgprop): "gtilde" (unset; the paper) the mixed
   * gradient, "bp-lambda" BP(lambda)'s target (eq. 11 of Pemberton & Costa) with `sgLambda`.
   */
  sgRule?: SgRule;
  /** Trace decay lambda in [0, 1] of `sgRule: "bp-lambda"` (unset: 1); only with that rule. */
  sgLambda?: number;
  /**
   * Every this many batches (and after batch 1), a small gradient diagnosis (`sgprop diagnose`)
   * adds `diagnose/` columns to the batch's metrics; 0 (the default) never. SparseNet only; from
   * its own streams, so the training numbers do not change.
   */
  duringTraining: number;
  /** Episodes in the pool of that diagnosis. */
  duringTrainingEpisodes: number;
  /** TensorFlow.js backend; undefined = wasm, falling back to cpu (native backends only when named). */
  backend?: BackendName;
  /**
   * Builds the batched labyrinth. Required: @sgprop/agents does not depend on the environment
   * packages (SPEC 2), so the application passes e.g.
   * `(spec) => new LabyrinthVectorEnv(spec)` from @sgprop/popgym.
   */
  envFactory?: LabyrinthEnvFactory;
}

/** What the trainer asks its env factory for. */
export interface LabyrinthEnvSpec {
  readonly kind: "escape" | "explore";
  readonly numEnvs: number;
  readonly mazeDims: [number, number];
  readonly episodeLength: number;
  readonly generator: "reference" | "default";
}

/** Makes the batched labyrinth a run trains on (e.g. @sgprop/popgym's LabyrinthVectorEnv). */
export type LabyrinthEnvFactory = (spec: LabyrinthEnvSpec) => VectorLabyrinth;

/** The positive-integer options that fix the shapes of the policy's parameters. */
export const NETWORK_SIZE_KEYS = [
  "width",
  "neuronDim",
  "numSlots",
  "numParents",
  "numInputNeurons",
  "embedHidden",
  "embedDim",
  "actorSlots",
  "hiddenSize",
  "actorHiddenSize",
] as const satisfies readonly (keyof PopgymTrainOptions)[];

export const defaultPopgymOptions: Readonly<PopgymTrainOptions> = Object.freeze({
  model: "sparsenet",
  algorithm: "sgprop",
  seed: 0,
  learningRate: 1e-3,
  sgLearningRate: 1e-5,
  env: "escape",
  mazeDims: [6, 6],
  mazeGenerator: "reference",
  numEnvs: 20,
  batches: 300,
  gamma: 0.95,
  entropyCoef: 0.01,
  normalizeReturns: true,
  maxGradNorm: 0.5,
  exploreRewardZeroProb: 0.75,
  width: 128,
  neuronDim: 6,
  numSlots: 6,
  numParents: 6,
  numInputNeurons: 16,
  embedHidden: 128,
  embedDim: 128,
  actorSlots: 6,
  hiddenSize: 256,
  actorHiddenSize: 128,
  thetaInit: 1,
  adaptiveTheta: true,
  thetaMomentum: 0.9,
  thetaRho: 0.1,
  sgMode: "prediction",
  duringTraining: 0,
  duringTrainingEpisodes: 64,
}) as Readonly<PopgymTrainOptions>;

/** Fills defaults, derives the episode and rollout lengths, and rejects impossible settings. */
export function resolvePopgymOptions(partial: Partial<PopgymTrainOptions>): PopgymTrainOptions & {
  episodeLength: number;
  rolloutLength: number;
} {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const o = { ...defaultPopgymOptions, ...defined } as PopgymTrainOptions;
  // As in the paper and the CLI, the default algorithm follows the model: sgprop needs SparseNet.
  if (defined.algorithm === undefined) o.algorithm = o.model === "sparsenet" ? "sgprop" : "backprop";
  const episodeLength = o.episodeLength ?? (o.env === "explore" ? 40 : 80);
  const rolloutLength = o.rolloutLength ?? episodeLength;
  const fail = (msg: string): never => {
    throw new RecurrentConfigError(msg);
  };
  if (!["sparsenet", "gru", "lstm"].includes(o.model))
    fail(`model must be sparsenet, gru or lstm, got ${JSON.stringify(o.model)}`);
  if (!["sgprop", "backprop"].includes(o.algorithm))
    fail(`algorithm must be sgprop or backprop, got ${JSON.stringify(o.algorithm)}`);
  if (o.algorithm === "sgprop" && o.model !== "sparsenet") {
    fail(
      `algorithm "sgprop" needs model "sparsenet" (got "${o.model}"); use algorithm "backprop" for GRU/LSTM`,
    );
  }
  if (!["escape", "explore"].includes(o.env))
    fail(`env must be escape or explore, got ${JSON.stringify(o.env)}`);
  if (!["reference", "default"].includes(o.mazeGenerator))
    fail(`mazeGenerator must be reference or default, got ${JSON.stringify(o.mazeGenerator)}`);
  if (!["prediction", "positive_projection"].includes(o.sgMode))
    fail(`sgMode must be prediction or positive_projection, got ${JSON.stringify(o.sgMode)}`);
  if (o.sgRule !== undefined && o.sgRule !== "gtilde" && o.sgRule !== "bp-lambda")
    fail(`sgRule must be gtilde or bp-lambda, got ${JSON.stringify(o.sgRule)}`);
  if (o.sgRule === "bp-lambda" && o.algorithm !== "sgprop")
    fail(`sgRule "bp-lambda" trains SG predictors, which only algorithm "sgprop" has (got "${o.algorithm}")`);
  if (o.sgLambda !== undefined) {
    if (o.sgRule !== "bp-lambda") fail(`sgLambda ${o.sgLambda} needs sgRule "bp-lambda"`);
    if (!(o.sgLambda >= 0 && o.sgLambda <= 1)) fail(`sgLambda must lie in [0, 1], got ${o.sgLambda}`);
  }
  for (const key of ["numEnvs", "batches", ...NETWORK_SIZE_KEYS] as const) {
    const v = o[key];
    if (!Number.isSafeInteger(v) || v < 1) fail(`${key} must be a positive integer, got ${String(v)}`);
  }
  if (!Number.isSafeInteger(o.duringTraining) || o.duringTraining < 0)
    fail(`duringTraining must be a non-negative integer, got ${String(o.duringTraining)}`);
  if (!Number.isSafeInteger(o.duringTrainingEpisodes) || o.duringTrainingEpisodes < 2)
    fail(`duringTrainingEpisodes must be an integer >= 2, got ${String(o.duringTrainingEpisodes)}`);
  if (!Number.isSafeInteger(o.seed) || o.seed < 0)
    fail(`seed must be a non-negative integer, got ${String(o.seed)}`);
  if (!Number.isSafeInteger(episodeLength) || episodeLength < 1)
    fail(`episodeLength must be a positive integer, got ${episodeLength}`);
  if (!Number.isSafeInteger(rolloutLength) || rolloutLength < 1)
    fail(`rolloutLength must be a positive integer, got ${rolloutLength}`);
  if (rolloutLength > episodeLength) {
    fail(
      `rolloutLength ${rolloutLength} exceeds episodeLength ${episodeLength}: one episode per env per batch, no auto-reset`,
    );
  }
  if (o.numParents > o.width) fail(`numParents ${o.numParents} exceeds width ${o.width}`);
  if (o.numInputNeurons > o.width) fail(`numInputNeurons ${o.numInputNeurons} exceeds width ${o.width}`);
  for (const key of ["learningRate", "sgLearningRate", "maxGradNorm"] as const) {
    if (!(o[key] > 0) || !Number.isFinite(o[key])) fail(`${key} must be a positive number, got ${o[key]}`);
  }
  for (const key of ["gamma", "thetaInit", "thetaMomentum", "thetaRho", "exploreRewardZeroProb"] as const) {
    if (!(o[key] >= 0 && o[key] <= 1)) fail(`${key} must lie in [0, 1], got ${o[key]}`);
  }
  if (!(o.entropyCoef >= 0)) fail(`entropyCoef must be >= 0, got ${o.entropyCoef}`);
  const [h, w] = o.mazeDims;
  if (
    !(Number.isSafeInteger(h) && Number.isSafeInteger(w) && h >= 6 && w >= 6 && h % 2 === 0 && w % 2 === 0)
  ) {
    fail(`mazeDims must be two even integers >= 6, got [${o.mazeDims}]`);
  }
  const tooLarge = memoryBudgetProblem(popgymMemoryParts({ ...o, rolloutLength }));
  if (tooLarge !== undefined) fail(tooLarge);
  // The replayed CPython generator takes 32-bit seeds; env k's t-th reset uses seed + k + t * numEnvs.
  const resetSeeds = o.numEnvs * (o.batches + 1);
  if (o.mazeGenerator === "reference" && o.seed + resetSeeds >= 2 ** 32) {
    fail(
      resetSeeds >= 2 ** 32
        ? `numEnvs ${o.numEnvs} x batches ${o.batches} needs more than 2^32 maze seeds, the reference maze generator's range; use mazeGenerator "default"`
        : `seed ${o.seed} is too large for the reference maze generator: reset seeds reach ${o.seed + resetSeeds} >= 2^32 (use a seed below ${2 ** 32 - resetSeeds} or mazeGenerator "default")`,
    );
  }
  return { ...o, mazeDims: [h, w], episodeLength, rolloutLength };
}
