import type { Rng } from "@sgprop/gym";

/** Samples one action per row of a [B, A] probability table by inverting the cumulative sum. */
export function sampleActions(probs: Float32Array, b: number, a: number, rng: Rng): Int32Array {
  const out = new Int32Array(b);
  for (let i = 0; i < b; i++) {
    const u = rng.float();
    let acc = 0;
    let chosen = a - 1;
    for (let j = 0; j < a; j++) {
      acc += probs[i * a + j] as number;
      if (u < acc) {
        chosen = j;
        break;
      }
    }
    out[i] = chosen;
  }
  return out;
}
