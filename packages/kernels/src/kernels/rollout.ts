/**
 * Typed host wrapper of rollout.c (rollout_halves): the kernel's arguments by name, written into a
 * task block in the C function's order (see coreTasks.ts).
 */
import { NEURON_SIZES, type TaskArgs, taskWriter } from "../coreTasks.js";
import { STEP_MAPS_AND_OUTPUTS, STEP_STATE } from "./coreForward.js";

/** A rollout step: observation embedding, the input neurons' term, the core step and the actor. */
export const ROLLOUT_ARGS = [
  "n",
  "O",
  "E1",
  "E",
  "obs",
  "w1",
  "e1p",
  "b1",
  "w2",
  "ep",
  "b2",
  "x1",
  "emb",
  "lnEps",
  "slope",
  "wEmb",
  "ncp",
  "ext",
  ...NEURON_SIZES,
  ...STEP_STATE,
  ...STEP_MAPS_AND_OUTPUTS,
  "F",
  "A",
  "S",
  "actor",
  "actorCp",
  "actorBias",
  "invSqrtF",
  "zActor",
  "logits",
] as const;
/** One half's arguments of `rollout_halves`: sizes, byte addresses (`addr`), f64 scalars. */
export type RolloutArgs = TaskArgs<typeof ROLLOUT_ARGS>;
/** The task arguments of one half of `rollout_halves`, in the kernel's order. */
export const rolloutTask = taskWriter(ROLLOUT_ARGS, ["lnEps", "slope", "invSqrtD", "invSqrtF"]);
