/**
 * How a seed becomes a generator state. Every stream of a run is named by `(seed, purpose)`; the
 * pair goes through a 64-bit hash and SplitMix64 (Steele, Lea & Flood 2014, the seeding routine the
 * xoroshiro authors recommend) into the full 128-bit state. Two things this rules out, both of which
 * made runs collapse before: two components seeded with the same user seed sharing numbers (their
 * purposes differ, so their states are unrelated), and nearby small seeds giving nearby states
 * (SplitMix64's finaliser has full avalanche, so seeds 0, 1, 2 start far apart).
 */

const MASK64 = (1n << 64n) - 1n;
const GOLDEN_GAMMA = 0x9e3779b97f4a7c15n;
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;

/** SplitMix64's output function: a bijection on 64-bit words with full avalanche. */
export function mix64(x: bigint): bigint {
  let z = x & MASK64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/** FNV-1a over the UTF-8 bytes of a purpose name; `mix64` afterwards supplies the avalanche. */
function hashPurpose(purpose: string): bigint {
  let h = FNV_OFFSET;
  for (const byte of new TextEncoder().encode(purpose)) h = ((h ^ BigInt(byte)) * FNV_PRIME) & MASK64;
  return h;
}

/** The 64-bit key of stream `(seed, purpose)`; distinct pairs give unrelated keys. */
export function streamKey(seed: number, purpose: string): bigint {
  return mix64(mix64(BigInt(seed) + GOLDEN_GAMMA) ^ hashPurpose(purpose));
}

/**
 * Four 32-bit words of generator state from a 64-bit key: the first two outputs of a SplitMix64
 * sequence started at the key. Never all zero (xoroshiro cannot leave that state).
 */
export function stateFromKey(key: bigint): [number, number, number, number] {
  const a = mix64(key + GOLDEN_GAMMA);
  const b = mix64(key + 2n * GOLDEN_GAMMA);
  const words: [number, number, number, number] = [
    Number(a >> 32n) | 0,
    Number(a & 0xffffffffn) | 0,
    Number(b >> 32n) | 0,
    Number(b & 0xffffffffn) | 0,
  ];
  if (words.every((w) => w === 0)) words[3] = 1;
  return words;
}

/** A 64-bit key from two 32-bit draws of a parent stream (used by `Rng.fork`). */
export function keyFromWords(hi: number, lo: number): bigint {
  return mix64((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
}
