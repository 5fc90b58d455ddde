/**
 * Typed host wrapper of coreSgLoss.c (sg_loss_halves): the kernel's arguments by name, written
 * into a task block in the C function's order (see coreTasks.ts).
 */
import { NEURON_SIZES, type TaskArgs, taskWriter } from "../coreTasks.js";

/** sg_loss: SG regression loss sums and gradients over n rows. */
export const SG_LOSS_ARGS = [
  "n",
  ...NEURON_SIZES,
  "pred",
  "mixed",
  "alpha",
  "uPar",
  "denom",
  "cp",
  "dz",
  "uRows",
  "loss",
  "dsgBias",
  "dzIn",
  "dsgPar",
  "withEmb",
  "emb",
  "ep",
  "dsgEmb",
] as const;
/** One half's arguments of `sg_loss_halves`: sizes and flags, byte addresses (`addr`), f64 scalars. */
export type SgLossArgs = TaskArgs<typeof SG_LOSS_ARGS>;
/** The task arguments of one half of `sg_loss_halves`, in the kernel's order. */
export const sgLossTask = taskWriter(SG_LOSS_ARGS, ["denom"]);
