import type { Rng } from "@sgprop/gym";
import { InvalidActionError, InvalidOptionError } from "./errors.js";

export function assertPFlip(pFlip: unknown): asserts pFlip is number {
  if (typeof pFlip !== "number" || !(pFlip >= 0 && pFlip <= 1)) {
    throw new InvalidOptionError("pFlip", pFlip, "a probability in [0, 1]");
  }
}

/** Throws unless every action is an integer in [0, numActions). */
export function assertActions(actions: ArrayLike<number>, size: number, numActions: number): void {
  if (actions.length !== size) {
    throw new InvalidOptionError("actions.length", actions.length, `the batch size ${size}`);
  }
  for (let b = 0; b < size; b++) {
    const a = actions[b];
    if (!Number.isInteger(a) || (a as number) < 0 || (a as number) >= numActions) {
      throw new InvalidActionError(b, a, numActions);
    }
  }
}

/**
 * Reward 1 when the action is the label, else 0; with `rng`, each reward is then flipped
 * (r -> 1 - r) with probability pFlip. One uniform draw per reward whatever pFlip is, so the
 * noise stream does not depend on the actions or on pFlip.
 */
export function scoreActions(
  labels: ArrayLike<number>,
  actions: ArrayLike<number>,
  numActions: number,
  out: Float32Array,
  noise?: { pFlip: number; rng: Rng },
): Float32Array {
  const size = labels.length;
  assertActions(actions, size, numActions);
  // A NaN pFlip would never flip and a pFlip of 2 would always flip: both silently wrong.
  if (noise) assertPFlip(noise.pFlip);
  if (out.length < size) throw new InvalidOptionError("out.length", out.length, `>= the batch size ${size}`);
  for (let b = 0; b < size; b++) {
    let r = actions[b] === labels[b] ? 1 : 0;
    if (noise && noise.rng.float() < noise.pFlip) r = 1 - r;
    out[b] = r;
  }
  return out;
}
