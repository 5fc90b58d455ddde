import type { ParamSpec, ParamValue } from "./schema.js";

/**
 * Parameter specs that the bandit and POPGym tables share, so that a flag means the same thing
 * (description, allowed values) in both; only the paper's default differs where it is a parameter.
 */

type Resolved = Readonly<Record<string, ParamValue | undefined>>;

export function algorithmParam(derive: (r: Resolved) => ParamValue, doc: string): ParamSpec {
  return {
    key: "algorithm",
    description: "gradient rule: sgprop mixes backpropagated and synthetic gradients; backprop is theta = 1",
    type: { type: "enum", values: ["sgprop", "backprop"] },
    default: { derive, doc },
  };
}

export const seedParam: ParamSpec = {
  key: "seed",
  description: "seed of every random stream of the run",
  type: { type: "integer", min: 0, max: Number.MAX_SAFE_INTEGER },
  default: 0,
};

export function sgLearningRateParam(paperDefault: number): ParamSpec {
  return {
    key: "sgLearningRate",
    description: "Adam learning rate of the synthetic-gradient predictors",
    type: { type: "number", min: 0, exclusiveMin: true },
    default: paperDefault,
  };
}

/** SparseNet neuron state size q, slots per neuron M and parents per neuron P, in that order. */
export function sparseNetShapeParams(paper: {
  readonly neuronDim: number;
  readonly numSlots: number;
  readonly numParents: number;
}): readonly ParamSpec[] {
  return [
    positiveInteger("neuronDim", "SparseNet neuron state size q", paper.neuronDim),
    positiveInteger("numSlots", "SparseNet slots per neuron M", paper.numSlots),
    positiveInteger("numParents", "SparseNet parents per neuron P", paper.numParents),
  ];
}

/** thetaInit, adaptiveTheta and thetaMomentum, in that order (eq. 3). */
export function thetaParams(thetaInit: number): readonly ParamSpec[] {
  return [
    {
      key: "thetaInit",
      description: "initial mixing weight theta per neuron",
      type: { type: "number", min: 0, max: 1 },
      default: thetaInit,
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
  ];
}

export const sgModeParam: ParamSpec = {
  key: "sgMode",
  description: "synthetic signal: the prediction, or its projection on the true gradient's half-space",
  type: { type: "enum", values: ["prediction", "positive_projection"] },
  default: "prediction",
};

/**
 * The names `--backend` accepts (those of @sgprop/agents' selectBackend, listed here so that option
 * parsing does not load TensorFlow.js): tensorflow-gpu needs @tensorflow/tfjs-node-gpu and CUDA,
 * tensorflow-cpu @tensorflow/tfjs-node, tensorflow the first of the two that loads.
 */
export const BACKEND_CHOICES = ["wasm", "cpu", "tensorflow-gpu", "tensorflow-cpu", "tensorflow"] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export const backendParam: ParamSpec = {
  key: "backend",
  description:
    "TensorFlow.js backend (default: wasm, falling back to cpu; tensorflow-gpu / tensorflow-cpu need @tensorflow/tfjs-node-gpu / @tensorflow/tfjs-node)",
  type: { type: "enum", values: [...BACKEND_CHOICES] },
  default: undefined,
  optional: true,
};

export function positiveInteger(
  key: string,
  description: string,
  paperDefault: ParamSpec["default"],
): ParamSpec {
  return { key, description, type: { type: "integer", min: 1 }, default: paperDefault };
}
