import { type DniTrainOptions, resolveDniOptions } from "./options.js";
import { table2Units } from "./units.js";

/**
 * The units a `sgprop train dni` run has, computed from its options alone (no TensorFlow.js is
 * loaded: `@sgprop/dni/plan`), so that a sweep can show its size before any run starts. A unit is
 * one `charts/step` row: one training step for critical-point, loss-surface, mnist and
 * representations (all four nets), and one data set of one Table 2 cell for table2 (its backprop
 * and SG runs, `steps` steps each).
 */
export function plannedUnits(partial: Partial<DniTrainOptions>): number {
  const o = resolveDniOptions(partial);
  return o.experiment === "table2" ? table2Units(o.dims, o.datasets, o.models).length : o.steps;
}
