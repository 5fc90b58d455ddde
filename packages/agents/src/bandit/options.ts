import type { BackendName } from "../backend.js";
import { InvalidConfigError, requireInt, requireUnit } from "../feedforward/errors.js";
import { banditMemoryParts, memoryBudgetProblem } from "../memoryBudget.js";
import type { SgMode } from "../sgprop/mixing.js";
import type { BanditFactory, ContextualBandit } from "./types.js";

/** Options of a bandit training run, with the paper's defaults (SPEC 6) in {@link defaultBanditOptions}. */
export interface BanditTrainOptions {
  /** Policy network: the feed-forward SparseNet or the dense MLP baseline. */
  readonly model: "sparsenet" | "mlp";
  /** sgprop mixes backpropagated and synthetic gradients; backprop is theta = 1 (MLP: backprop only). */
  readonly algorithm: "sgprop" | "backprop";
  /** Seed of every random stream of the run (initialisation, connectivity, actions, bandit). */
  readonly seed: number;
  /** Policy Adam learning rate; default 5e-3 sparsenet sgprop, 1e-3 sparsenet backprop, 2e-5 mlp. */
  readonly learningRate?: number;
  /** Adam learning rate of the SG predictors. */
  readonly sgLearningRate: number;
  /** L2 weight decay of the policy Adam, as torch.optim.Adam's `weight_decay` (paper: 0). */
  readonly policyWeightDecay: number;
  /** L2 weight decay of the SG-predictor Adam (paper: 0). */
  readonly sgWeightDecay: number;
  /** Policy steps. */
  readonly steps: number;
  /** Contexts per policy step. */
  readonly batchSize: number;
  /** Held-out contexts per evaluation. */
  readonly evalBatchSize: number;
  /** Evaluations at the integer parts of numEvals evenly spaced points from 1 to steps. */
  readonly numEvals: number;
  /** Probability that a training reward is flipped. */
  readonly pFlip: number;
  /** MNIST classes used as actions (the paper's code drops 2). */
  readonly classes: readonly number[];
  /** Folder with MNIST IDX files; default the bundled subset (handled by the bandit factory). */
  readonly dataDir?: string;
  /** Hidden layers L. */
  readonly numLayers: number;
  /** Neurons per layer (SparseNet) or units per layer (MLP); default 200 sparsenet, 745 mlp. */
  readonly width?: number;
  /** SparseNet neuron state size q. */
  readonly neuronDim: number;
  /** SparseNet slots per neuron M. */
  readonly numSlots: number;
  /** SparseNet parents per neuron P. */
  readonly numParents: number;
  /** Residual hidden layers; default true for sparsenet, false for mlp. */
  readonly residual?: boolean;
  /** Initial theta of every neuron (sgprop). */
  readonly thetaInit: number;
  /** Adapt theta per neuron with the closed-form estimator of eq. 3. */
  readonly adaptiveTheta: boolean;
  /** Momentum mu of the theta update. */
  readonly thetaMomentum: number;
  /** Threshold on V + B^2 below which the estimator keeps the previous theta. */
  readonly thetaEps: number;
  /** Synthetic signal: the prediction or its positive projection on the true gradient. */
  readonly sgMode: SgMode;
  /** SG phase steps per policy step. */
  readonly sgStepsPerPolicyStep: number;
  /** The SG phase reuses the policy step's batch (the paper's runs); otherwise it samples its own. */
  readonly reusePolicyBatchForSg: boolean;
  /** Let the SG loss also update the routing keys (frozen in the paper). */
  readonly updateSharedKeysInSgPhase: boolean;
  /** Mix the gradient at the action logits too (off in the paper). */
  readonly mixActionLayerGradient: boolean;
  /** Initial theta of the action layer when it is mixed. */
  readonly thetaActionInit: number;
  /**
   * Every this many policy steps (and after step 1), a small gradient diagnosis (`sgprop
   * diagnose`) adds `diagnose/` columns to the step's metrics; 0 (the default) never. SparseNet
   * only; from its own streams, so the training numbers do not change.
   */
  readonly duringTraining: number;
  /** Pool size of that diagnosis. */
  readonly duringTrainingPool: number;
  /** TensorFlow.js backend; default: wasm, falling back to cpu (native backends only when named). */
  readonly backend?: BackendName;
  /**
   * The bandit, or a factory called with { seed, pFlip, classes, dataDir }. Required: agents does
   * not depend on @sgprop/mnist-bandit, so the application supplies it (apps/train passes
   * `(o) => new MnistBandit(o)`). Not saved in checkpoints; pass it again to restore.
   */
  readonly bandit?: ContextualBandit | BanditFactory;
}

/** The paper's bandit settings (SPEC 6). */
export const defaultBanditOptions: Readonly<Omit<BanditTrainOptions, "bandit">> = {
  model: "sparsenet",
  algorithm: "sgprop",
  seed: 0,
  sgLearningRate: 5e-3,
  policyWeightDecay: 0,
  sgWeightDecay: 0,
  steps: 1500,
  batchSize: 64,
  evalBatchSize: 4000,
  numEvals: 20,
  pFlip: 0.4,
  classes: [0, 1, 3, 4, 5, 6, 7, 8, 9],
  numLayers: 5,
  neuronDim: 10,
  numSlots: 5,
  numParents: 5,
  thetaInit: 0.9,
  adaptiveTheta: true,
  thetaMomentum: 0.9,
  thetaEps: 1e-6,
  sgMode: "prediction",
  sgStepsPerPolicyStep: 1,
  reusePolicyBatchForSg: true,
  updateSharedKeysInSgPhase: false,
  mixActionLayerGradient: false,
  thetaActionInit: 1,
  duringTraining: 0,
  duringTrainingPool: 1024,
};

/** Options with every default filled in. */
export type ResolvedBanditOptions = Required<Omit<BanditTrainOptions, "dataDir" | "backend" | "bandit">> &
  Pick<BanditTrainOptions, "dataDir" | "backend" | "bandit">;

/** The paper's learning rate for a model/algorithm pair. */
export function paperLearningRate(model: string, algorithm: string): number {
  if (model === "mlp") return 2e-5;
  return algorithm === "backprop" ? 1e-3 : 5e-3;
}

/** Fills defaults, drops undefined entries and validates; bad values throw InvalidConfigError. */
export function resolveBanditOptions(opts: Partial<BanditTrainOptions>): ResolvedBanditOptions {
  const given = Object.fromEntries(
    Object.entries(opts).filter(([, v]) => v !== undefined),
  ) as Partial<BanditTrainOptions>;
  const o = { ...defaultBanditOptions, ...given };
  if (o.model !== "sparsenet" && o.model !== "mlp")
    throw new InvalidConfigError("model", o.model, '"sparsenet" or "mlp"');
  if (o.algorithm !== "sgprop" && o.algorithm !== "backprop") {
    throw new InvalidConfigError("algorithm", o.algorithm, '"sgprop" or "backprop"');
  }
  if (o.model === "mlp" && o.algorithm === "sgprop") {
    throw new InvalidConfigError(
      "algorithm",
      o.algorithm,
      '"backprop" for the mlp model (sgprop needs SparseNet neurons)',
    );
  }
  const resolved: ResolvedBanditOptions = {
    ...o,
    learningRate: o.learningRate ?? paperLearningRate(o.model, o.algorithm),
    width: o.width ?? (o.model === "mlp" ? 745 : 200),
    residual: o.residual ?? o.model === "sparsenet",
  };
  requireInt("seed", resolved.seed, 0);
  requireInt("steps", resolved.steps, 1);
  requireInt("batchSize", resolved.batchSize, 1);
  requireInt("evalBatchSize", resolved.evalBatchSize, 1);
  requireInt("numEvals", resolved.numEvals, 0);
  requireInt("numLayers", resolved.numLayers, 1);
  requireInt("width", resolved.width, 1);
  requireInt("neuronDim", resolved.neuronDim, 1);
  requireInt("numSlots", resolved.numSlots, 1);
  requireInt("numParents", resolved.numParents, 1);
  requireInt("sgStepsPerPolicyStep", resolved.sgStepsPerPolicyStep, 1);
  requireInt("duringTraining", resolved.duringTraining, 0);
  requireInt("duringTrainingPool", resolved.duringTrainingPool, 2);
  requireUnit("thetaInit", resolved.thetaInit);
  requireUnit("thetaMomentum", resolved.thetaMomentum);
  requireUnit("thetaActionInit", resolved.thetaActionInit);
  requireUnit("pFlip", resolved.pFlip);
  for (const key of ["learningRate", "sgLearningRate"] as const) {
    const v = resolved[key];
    if (!(typeof v === "number" && v > 0 && Number.isFinite(v)))
      throw new InvalidConfigError(key, v, "a finite number > 0");
  }
  for (const key of ["policyWeightDecay", "sgWeightDecay"] as const) {
    const v = resolved[key];
    if (!(typeof v === "number" && v >= 0 && Number.isFinite(v)))
      throw new InvalidConfigError(key, v, "a finite number >= 0");
  }
  if (!(resolved.thetaEps >= 0)) throw new InvalidConfigError("thetaEps", resolved.thetaEps, "a number >= 0");
  if (resolved.sgMode !== "prediction" && resolved.sgMode !== "positive_projection") {
    throw new InvalidConfigError("sgMode", resolved.sgMode, '"prediction" or "positive_projection"');
  }
  if (resolved.numParents > resolved.width && resolved.model === "sparsenet") {
    throw new InvalidConfigError("numParents", resolved.numParents, `<= width (${resolved.width})`);
  }
  const parts = banditMemoryParts(resolved);
  const tooLarge = memoryBudgetProblem(parts);
  if (tooLarge !== undefined) {
    const big = parts.reduce((a, b) => (b.bytes > a.bytes ? b : a));
    throw new InvalidConfigError(big.option, big.value, `a smaller value: ${tooLarge}`);
  }
  return resolved;
}

/** Steps after which the run evaluates: integer parts of numEvals evenly spaced points in [1, steps]. */
export function banditEvalSteps(steps: number, numEvals: number): number[] {
  if (numEvals <= 0) return [];
  if (numEvals === 1) return [1];
  const out = new Set<number>();
  for (let k = 0; k < numEvals; k++) out.add(Math.floor(1 + (k * (steps - 1)) / (numEvals - 1)));
  return [...out].sort((a, b) => a - b);
}
