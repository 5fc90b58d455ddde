/**
 * The GRU and LSTM baselines' sizes, canonical parameter names and shapes, initialisation and
 * state type (SPEC 4.6), shared by the policy (rnn.ts) and its written-out BPTT (rnnBptt.ts).
 */
import type { Rng } from "@sgprop/gym";
import * as tf from "@tensorflow/tfjs-core";
import {
  normalTensor,
  orthogonalTensor,
  type ParamMap,
  RecurrentConfigError,
  requirePositiveInt,
  toVariables,
} from "./params.js";

/** The two recurrent cores of the POPGym baselines. */
export type RnnCell = "gru" | "lstm";

/** Sizes of a GRU/LSTM policy (SPEC 4.6; paper: 128 -> 128 embedding, hidden 256, actor 128). */
export interface RnnConfig {
  readonly cell: RnnCell;
  readonly obsDim: number;
  readonly numActions: number;
  /** E1: featureMap width. */
  readonly embedHidden: number;
  /** E: embedding width (the core's input). */
  readonly embedDim: number;
  /** H */
  readonly hiddenSize: number;
  /** Ha: actor MLP width. */
  readonly actorHiddenSize: number;
}

export const PAPER_RNN_SIZES = {
  embedHidden: 128,
  embedDim: 128,
  hiddenSize: 256,
  actorHiddenSize: 128,
} as const;

/** Canonical parameter names, in optimiser order. */
export const RNN_PARAMS = [
  "featureMap.weight",
  "featureMap.bias",
  "preprocessor.weight",
  "preprocessor.bias",
  "core.weightIh",
  "core.weightHh",
  "core.biasIh",
  "core.biasHh",
  "actorBody.0.weight",
  "actorBody.0.bias",
  "actorBody.1.weight",
  "actorBody.1.bias",
  "actorHead.weight",
  "actorHead.bias",
] as const;

function gates(c: RnnConfig): number {
  return (c.cell === "gru" ? 3 : 4) * c.hiddenSize;
}

export function validateRnnConfig(c: RnnConfig): void {
  if (c.cell !== "gru" && c.cell !== "lstm")
    throw new RecurrentConfigError(`cell must be "gru" or "lstm", got ${String(c.cell)}`);
  for (const key of [
    "obsDim",
    "numActions",
    "embedHidden",
    "embedDim",
    "hiddenSize",
    "actorHiddenSize",
  ] as const) {
    requirePositiveInt(key, c[key]);
  }
}

export function rnnParamShapes(c: RnnConfig): Record<string, number[]> {
  const g = gates(c);
  return {
    "featureMap.weight": [c.embedHidden, c.obsDim],
    "featureMap.bias": [c.embedHidden],
    "preprocessor.weight": [c.embedDim, c.embedHidden],
    "preprocessor.bias": [c.embedDim],
    "core.weightIh": [g, c.embedDim],
    "core.weightHh": [g, c.hiddenSize],
    "core.biasIh": [g],
    "core.biasHh": [g],
    "actorBody.0.weight": [c.actorHiddenSize, c.hiddenSize],
    "actorBody.0.bias": [c.actorHiddenSize],
    "actorBody.1.weight": [c.actorHiddenSize, c.actorHiddenSize],
    "actorBody.1.bias": [c.actorHiddenSize],
    "actorHead.weight": [c.numActions, c.actorHiddenSize],
    "actorHead.bias": [c.numActions],
  };
}

/**
 * Initial parameters: orthogonal weights (the recurrent matrices as whole [3H or 4H, in] matrices),
 * zero biases, the head's weight normal with std 0.01 (SPEC 4.6).
 */
export function initRnn(c: RnnConfig, rng: Rng): ParamMap {
  validateRnnConfig(c);
  const t = new Map<string, tf.Tensor>();
  for (const [name, shape] of Object.entries(rnnParamShapes(c))) {
    if (shape.length === 1) t.set(name, tf.zeros(shape));
    else if (name === "actorHead.weight") t.set(name, normalTensor(rng, shape, 0.01));
    else t.set(name, orthogonalTensor(rng, shape[0] as number, shape[1] as number));
  }
  const vars = toVariables(t);
  for (const x of t.values()) x.dispose();
  return vars;
}

/** Recurrent state: h [B, H] (and c for the LSTM). */
export interface RnnState {
  readonly h: tf.Tensor2D;
  readonly c?: tf.Tensor2D;
}
