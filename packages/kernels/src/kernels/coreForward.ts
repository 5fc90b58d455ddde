/**
 * Typed host wrapper of coreForward.c (forward_step_halves, predictions_halves): the kernel's arguments by name, written into a task block in the
 * C function's order (see coreTasks.ts).
 */
import { type TaskArg, type TaskArgs, taskArgs } from "../coreTasks.js";

/** forward_step: one step of n rows (gather, maps, tanh, routing softmax, slot mixture). */
export const FORWARD_STEP_ARGS = [
  "n",
  "W",
  "q",
  "P",
  "M",
  "Ni",
  "parentIdx",
  "hPrev",
  "keep",
  "ext",
  "extStride",
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
/** One half's arguments of `forward_step_halves`: sizes and flags, byte addresses (`addr`), f64 scalars. */
export type ForwardStepArgs = TaskArgs<typeof FORWARD_STEP_ARGS>;
/** The task arguments of one half of `forward_step_halves`, in the kernel's order. */
export function forwardStepTask(a: ForwardStepArgs): TaskArg[] {
  return taskArgs(FORWARD_STEP_ARGS, ["invSqrtD"], a);
}

/** predictions, then the input neurons' embedding term (withEmb, embRows [n][ep], ep, embMaps [E][extStride], E). */
export const PREDICTIONS_ARGS = [
  "n",
  "W",
  "q",
  "P",
  "M",
  "Ni",
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
] as const;
/** One half's arguments of `predictions_halves`: sizes and flags, byte addresses (`addr`), f64 scalars. */
export type PredictionsArgs = TaskArgs<typeof PREDICTIONS_ARGS>;
/** The task arguments of one half of `predictions_halves`, in the kernel's order. */
export function predictionsTask(a: PredictionsArgs): TaskArg[] {
  return taskArgs(PREDICTIONS_ARGS, [], a);
}
