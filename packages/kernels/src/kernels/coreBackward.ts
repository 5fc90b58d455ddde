/**
 * Typed host wrapper of coreBackward.c (backward_halves): the kernel's arguments by name, written
 * into a task block in the C function's order (see coreTasks.ts).
 */
import { NEURON_SIZES, type TaskArgs, taskWriter } from "../coreTasks.js";

/** backward: BPTT over T steps for nb environments, with the mix at every H_t. */
export const BACKWARD_ARGS = [
  "T",
  "nb",
  ...NEURON_SIZES,
  "parentIdx",
  "keep",
  "dActor",
  "alpha",
  "y",
  "uPar",
  "pred",
  "theta",
  "mixing",
  "positiveProjection",
  "invSqrtD",
  "wT",
  "cp",
  "pqp",
  "trueGrad",
  "mixedGrad",
  "substitute",
  "dzIn",
  "dzAll",
  "du",
  "carry",
  "next",
  "dBias",
  "dwPar",
  "uRows",
  "scratch",
  "withEmb",
  "emb",
  "ep",
  "wEmbT",
  "dWemb",
  "de",
] as const;
/** One half's arguments of `backward_halves`: sizes and flags, byte addresses (`addr`), f64 scalars. */
export type BackwardArgs = TaskArgs<typeof BACKWARD_ARGS>;
/** The task arguments of one half of `backward_halves`, in the kernel's order. */
export const backwardTask = taskWriter(BACKWARD_ARGS, ["invSqrtD"]);
