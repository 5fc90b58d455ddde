/**
 * Typed host wrapper of coreEstimator.c (estimator_halves): the kernel's arguments by name,
 * written into a task block in the C function's order (see coreTasks.ts).
 */
import { NEURON_SIZES, type TaskArgs, taskWriter } from "../coreTasks.js";

/** estimator: the eq. 3 sums over n rows. */
export const ESTIMATOR_ARGS = [
  "n",
  ...NEURON_SIZES,
  "g",
  "sub",
  "alpha",
  "y",
  "uPar",
  "emb",
  "E",
  "ep",
  "invSqrtD",
  "cp",
  "xw",
  "xd",
  "uRows",
  "sums",
  "tw",
  "td",
  "gw",
  "gd",
  "xwIn",
  "xdIn",
  "gwEmb",
  "gdEmb",
  "scratch",
] as const;
/** One half's arguments of `estimator_halves`: sizes and flags, byte addresses (`addr`), f64 scalars. */
export type EstimatorArgs = TaskArgs<typeof ESTIMATOR_ARGS>;
/** The task arguments of one half of `estimator_halves`, in the kernel's order. */
export const estimatorTask = taskWriter(ESTIMATOR_ARGS, ["invSqrtD"]);
