import { matrix64 } from "../linear64.js";
import { Moment64Learner } from "../moments64.js";
import type { NetSpec } from "../net.js";
import type { SgConditioning } from "../sg.js";
import { type Method, type SgPlacement, sgBoundaries } from "../wiring.js";
import { type ArtificialKind, artificialData, globalOptimum } from "./artificial.js";

/**
 * One cell of Table 2 on one data set: a shallow (affine) or deep linear model trained full-batch
 * with Adam, by backprop or with linear SG modules; the result is the final training loss and the
 * float64 global optimum of the same data.
 */
export interface Table2CellOptions {
  readonly kind: ArtificialKind;
  readonly loss: "mse" | "logistic";
  /** Input dimension (the paper's k: 2 or 100). */
  readonly k: number;
  /** Points (the paper: 100 for k = 2, 1000 for k = 100). */
  readonly n: number;
  /** "shallow": x -> output, the SG on the output (Theorem 1); "deep": `hiddenLayers` linear layers of width `hiddenWidth`. */
  readonly depth: "shallow" | "deep";
  readonly hiddenLayers: number;
  readonly hiddenWidth: number;
  /** Where the deep model's SG modules sit. */
  readonly placement: SgPlacement;
  readonly method: Extract<Method, "backprop" | "sg">;
  readonly conditioning: SgConditioning;
  readonly learningRate: number;
  readonly steps: number;
  readonly seed: number;
  /** Which of the cell's data sets (0-based). */
  readonly index: number;
}

/** The paper's settings: Adam 3e-5, 10 hidden layers for "deep", label-conditioned linear SG. */
export const TABLE2_DEFAULTS: Omit<
  Table2CellOptions,
  "kind" | "loss" | "k" | "n" | "depth" | "method" | "index"
> = {
  hiddenLayers: 10,
  hiddenWidth: 0,
  placement: "every",
  conditioning: "both",
  learningRate: 3e-5,
  steps: 100_000,
  seed: 0,
};

export interface Table2CellResult {
  readonly finalLoss: number;
  readonly optimum: number;
  /** finalLoss - optimum. */
  readonly gap: number;
}

export function table2Net(
  o: Pick<Table2CellOptions, "k" | "depth" | "hiddenLayers" | "hiddenWidth">,
): NetSpec {
  const width = o.hiddenWidth > 0 ? o.hiddenWidth : o.k;
  const hidden = o.depth === "deep" ? Array.from({ length: o.hiddenLayers }, () => width) : [];
  return { layerSizes: [o.k, ...hidden, 1], activation: "linear", batchNorm: false };
}

/**
 * Trains one cell on one data set with the float64 learner in its moment form (moments64.ts: the
 * rule of linear64.ts, which the tests check against TensorFlow.js step by step, with the sums over
 * examples taken through Z^T Z); `onProgress(step, loss)` every `every` steps.
 */
export function runTable2Cell(
  o: Table2CellOptions,
  onProgress?: (step: number, loss: number) => void,
  every = 1000,
): Table2CellResult {
  const data = artificialData(o.kind, o.loss, o.k, o.n, o.seed, o.index);
  const optimum = globalOptimum(data, o.loss);
  const net = table2Net(o);
  const learner = new Moment64Learner({
    layerSizes: net.layerSizes,
    loss: o.loss,
    method: o.method,
    sgAt:
      o.method === "sg"
        ? o.depth === "shallow"
          ? sgBoundaries(net, "output")
          : sgBoundaries(net, o.placement)
        : [],
    conditioning: o.conditioning,
    learningRate: o.learningRate,
    seed: o.seed + o.index,
  });
  const x = matrix64(o.n, o.k, data.x);
  const y = matrix64(o.n, 1, data.y);
  for (let s = 1; s <= o.steps; s++) {
    const loss = learner.step(x, y);
    if (!Number.isFinite(loss)) break;
    if (onProgress !== undefined && s % every === 0) onProgress(s, loss);
  }
  const finalLoss = learner.loss(x, y);
  return { finalLoss, optimum, gap: finalLoss - optimum };
}
