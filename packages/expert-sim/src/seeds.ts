import { assertSeed } from "@sgprop/gym";

/**
 * A well-mixed safe-integer seed from a base seed and a list of small integers (murmur3-style
 * finalisers over two 32-bit lanes). Each (d, k, case, n) cell of a sweep gets its own stream
 * this way, so any cell can be recomputed alone and a sub-sweep reproduces the full sweep's numbers.
 */
export function deriveSeed(seed: number, ...parts: readonly number[]): number {
  assertSeed(seed);
  let a = (seed >>> 0) ^ 0x243f6a88;
  let b = Math.floor(seed / 2 ** 32) ^ 0x85a308d3;
  for (const part of [...parts, parts.length]) {
    a = fmix(a ^ Math.imul(part | 0, 0x9e3779b1));
    b = fmix(b ^ Math.imul(a, 0x85ebca6b) ^ (part | 0));
  }
  return (b >>> 11) * 2 ** 32 + (a >>> 0);
}

// murmur3's 32-bit finaliser. @sgprop/gym
// does not export it (nor any seed-combining helper), and deriveSeed's values must stay as they are.
function fmix(h: number): number {
  let x = h;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}
