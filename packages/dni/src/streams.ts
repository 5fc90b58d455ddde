/**
 * The random streams of a DNI run, each derived with `Rng.derive(seed, name)` from @sgprop/gym so
 * that no two components draw the same numbers. This file is the one place the names live.
 */
export const DNI_STREAMS = {
  /** Initial weights of the network's layers. */
  init: "dni/init",
  /** The fixed random feedback matrices of feedback alignment and DFA. */
  feedback: "dni/feedback",
  /** Which examples each minibatch holds. */
  batches: "dni/batches",
  /** Inputs, weights and label noise of the artificial data sets (Table 2). */
  data: "dni/data",
  /** Which examples the representation analysis and its probes use. */
  probes: "dni/probes",
} as const;
