/**
 * The random streams of a BP(lambda) run, each derived from the user's seed and its own purpose
 * (`Rng.derive(seed, name)`), so no two components draw the same numbers. The one place the names live.
 */
export const BP_LAMBDA_STREAMS = {
  /** Initial weights of the recurrent core and the readout. */
  init: "bp-lambda/init",
  /** Which examples (toy pairs, bit patterns, digits) each training batch holds. */
  data: "bp-lambda/data",
  /** Which test examples an evaluation draws. */
  evaluation: "bp-lambda/evaluation",
} as const;

/**
 * The toy task's input codes are fixed whatever the seed (the authors fix numpy's RandomState(123)
 * for them): this seed, under its own purpose name, draws them.
 */
export const TOY_CODES_SEED = 123;
export const TOY_CODES_STREAM = "bp-lambda/toy-codes";
