/**
 * Typed host wrapper of coreForward.c (forward_step_halves, predictions_halves): the kernel's
 * arguments by name, written into a task block in the C function's order (see coreTasks.ts).
 */
import { NEURON_SIZES, type TaskArgs, taskWriter } from "../coreTasks.js";

/** The recurrent state's inputs of a core step: parents, previous state, reset mask. */
export const STEP_STATE = ["parentIdx", "hPrev", "keep"] as const;
/** A core step's map arguments and outputs (forward_step after its embedding term). */
export const STEP_MAPS_AND_OUTPUTS = [
  "bias",
  "wPad",
  "cp",
  "invSqrtD",
  "u",
  "z",
  "y",
  "alpha",
  "h",
  "zz",
] as const;

/** forward_step: one step of n rows (gather, maps, tanh, routing softmax, slot mixture). */
export const FORWARD_STEP_ARGS = [
  "n",
  ...NEURON_SIZES,
  ...STEP_STATE,
  "ext",
  "extStride",
  ...STEP_MAPS_AND_OUTPUTS,
] as const;
/** One half's arguments of `forward_step_halves`: sizes and flags, byte addresses (`addr`), f64 scalars. */
export type ForwardStepArgs = TaskArgs<typeof FORWARD_STEP_ARGS>;
/** The task arguments of one half of `forward_step_halves`, in the kernel's order. */
export const forwardStepTask = taskWriter(FORWARD_STEP_ARGS, ["invSqrtD"]);

/**
 * predictions, then the input neurons' embedding term (withEmb, embRows [n][ep], ep, embMaps
 * [E][extStride], E) and the rows per chunk (z and, with embedding rows, sgExt hold one chunk).
 */
export const PREDICTIONS_ARGS = [
  "n",
  ...NEURON_SIZES,
  "u",
  "alpha",
  "sgExt",
  "extStride",
  "sgBias",
  "wPad",
  "cp",
  "z",
  "out",
  "zz",
  "withEmb",
  "embRows",
  "ep",
  "embMaps",
  "E",
  "chunkRows",
] as const;
/** One half's arguments of `predictions_halves`: sizes and flags, byte addresses (`addr`), f64 scalars. */
export type PredictionsArgs = TaskArgs<typeof PREDICTIONS_ARGS>;
/** The task arguments of one half of `predictions_halves`, in the kernel's order. */
export const predictionsTask = taskWriter(PREDICTIONS_ARGS, []);
