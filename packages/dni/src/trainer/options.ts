import { DniOptionError } from "../errors.js";
import type { Activation } from "../net.js";
import type { SgConditioning, SgForm } from "../sg.js";
import type { Method, SgPlacement } from "../wiring.js";
import type { Table2Models } from "./units.js";

/**
 * The paper's experiments as resumable runs (`sgprop train dni`):
 * - "critical-point": the Proposition 1 example, SG and backprop side by side; one unit = one step;
 * - "table2": the artificial-data table; one unit = one data set of one cell (both methods);
 * - "loss-surface": the losses SG modules imply (Figs. 2 and 9); one unit = one step;
 * - "mnist": a deep MNIST net with batch norm (Fig. 4); one unit = one minibatch step;
 * - "representations": backprop, one SG, SG everywhere and DFA on the same MNIST batches, then
 *   RDMs and linear probes per layer (Figs. 7-8); one unit = one step of all four.
 */
export type DniExperiment = "critical-point" | "table2" | "loss-surface" | "mnist" | "representations";
export const DNI_EXPERIMENTS: readonly DniExperiment[] = [
  "critical-point",
  "table2",
  "loss-surface",
  "mnist",
  "representations",
];

export interface DniTrainOptions {
  readonly experiment: DniExperiment;
  readonly seed: number;
  /** Steps per run (critical-point, loss-surface, mnist) or per data set (table2). */
  readonly steps: number;
  readonly learningRate: number;
  /** The SG modules' learning rate; default `learningRate`. */
  readonly sgLearningRate?: number;
  /** critical-point: the start (a0, b0) and the constant SG's initial value c0. */
  readonly a0: number;
  readonly b0: number;
  readonly c0: number;
  /** table2: the input dimensions k (the paper: 2 and 100). */
  readonly dims: readonly number[];
  /** table2: data sets per cell (the paper: 10). */
  readonly datasets: number;
  /** table2: the models trained: both (the table), or only the shallow or the deep ones. */
  readonly models: Table2Models;
  /** table2 deep models and the mnist net: hidden layers. */
  readonly hiddenLayers: number;
  /** table2 (deep) and mnist: where SG modules go. */
  readonly sgPlacement: SgPlacement;
  /** mnist: learning rule, activation, width, batch size, SG form and inputs, evaluations. */
  readonly method: Method;
  readonly activation: Activation;
  readonly width: number;
  readonly batchSize: number;
  readonly batchNorm: boolean;
  readonly sgForm: SgForm;
  readonly conditioning: SgConditioning;
  readonly numEvals: number;
  /** mnist: a folder of IDX files (full MNIST); default the bundled digits. */
  readonly dataDir?: string;
  /** mnist: TensorFlow.js backend name for @sgprop/agents' selectBackend (default: wasm, else cpu). */
  readonly backend?: string;
}

/** Defaults: the paper's settings where it states them (Table 2: Adam 3e-5, 10 data sets, 10 hidden layers; Fig. 4: 512 units, batch norm). */
export const DNI_DEFAULTS: DniTrainOptions = {
  experiment: "table2",
  seed: 0,
  steps: 100_000,
  learningRate: 3e-5,
  a0: 1,
  b0: 2.5,
  c0: 0,
  dims: [2, 100],
  datasets: 10,
  models: "both",
  hiddenLayers: 10,
  sgPlacement: "every",
  method: "sg",
  activation: "relu",
  width: 512,
  batchSize: 256,
  batchNorm: true,
  sgForm: "linear",
  conditioning: "both",
  numEvals: 10,
};

export function resolveDniOptions(partial: Partial<DniTrainOptions>): DniTrainOptions {
  const o = {
    ...DNI_DEFAULTS,
    ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)),
  } as DniTrainOptions;
  if (!DNI_EXPERIMENTS.includes(o.experiment)) {
    throw new DniOptionError("experiment", o.experiment, `one of ${DNI_EXPERIMENTS.join(", ")}`);
  }
  for (const key of ["steps", "datasets", "hiddenLayers", "width", "batchSize"] as const) {
    if (!Number.isSafeInteger(o[key]) || o[key] < 1) throw new DniOptionError(key, o[key], "an integer >= 1");
  }
  if (!(o.learningRate > 0)) throw new DniOptionError("learningRate", o.learningRate, "a number > 0");
  if (!["both", "shallow", "deep"].includes(o.models))
    throw new DniOptionError("models", o.models, "both, shallow or deep");
  if (o.dims.length === 0 || o.dims.some((k) => !Number.isSafeInteger(k) || k < 1)) {
    throw new DniOptionError("dims", o.dims, "positive integers");
  }
  return o;
}
