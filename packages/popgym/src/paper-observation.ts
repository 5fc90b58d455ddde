import { NUM_ACTIONS, NUM_CELL_CODES, PAPER_OBS_DIM } from "./cells.js";

/** Offsets of the parts of the paper's 56-long observation (LABYRINTH.md "Observation"). */
export const PAPER_OBS_LAYOUT = {
  /** Window cell k's code c is at `5k + c` (k = 0..8, row-major). */
  window: 0,
  /** One-hot over 0..4 of the env's own action value (4 = none at reset). */
  envAction: 9 * NUM_CELL_CODES,
  /** One-hot over 0..3 of PreviousAction's copy (null action 0 at reset). */
  previousAction: 10 * NUM_CELL_CODES,
  /** Antialias flag one-hot over {0, 1}: 55 at reset, 54 after a step. */
  isFirst: 10 * NUM_CELL_CODES + NUM_ACTIONS,
  length: PAPER_OBS_DIM,
} as const;

/**
 * Writes the Gymnasium flattening of Tuple(MultiDiscrete([5]*10), Discrete(4), Discrete(2)) — the
 * paper's PreviousAction + Antialias + Flatten stack — straight into `out` at `off`.
 */
export function writePaperObservation(
  out: Float32Array,
  off: number,
  window: Uint8Array,
  envAction: number,
  previousAction: number,
  isFirst: boolean,
): void {
  out.fill(0, off, off + PAPER_OBS_DIM);
  out[off + (window[0] as number)] = 1;
  out[off + 5 + (window[1] as number)] = 1;
  out[off + 10 + (window[2] as number)] = 1;
  out[off + 15 + (window[3] as number)] = 1;
  out[off + 20 + (window[4] as number)] = 1;
  out[off + 25 + (window[5] as number)] = 1;
  out[off + 30 + (window[6] as number)] = 1;
  out[off + 35 + (window[7] as number)] = 1;
  out[off + 40 + (window[8] as number)] = 1;
  out[off + PAPER_OBS_LAYOUT.envAction + envAction] = 1;
  out[off + PAPER_OBS_LAYOUT.previousAction + previousAction] = 1;
  out[off + PAPER_OBS_LAYOUT.isFirst + (isFirst ? 1 : 0)] = 1;
}
