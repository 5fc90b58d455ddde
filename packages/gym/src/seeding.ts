/**
 * How a seed becomes a generator state. Every stream of a run is named by `(seed, purpose)`; the
 * pair goes through a 64-bit hash and SplitMix64 (Steele, Lea & Flood 2014, the seeding routine the
 * xoroshiro authors recommend) into the full 128-bit state. Two things this rules out, both of which
 * made runs collapse before: two components seeded with the same user seed sharing numbers (their
 * purposes differ, so their states are unrelated), and nearby small seeds giving nearby states
 * (SplitMix64's finaliser has full avalanche, so seeds 0, 1, 2 start far apart).
 *
 * 64-bit words are [hi, lo] pairs of unsigned 32-bit numbers: env resets derive a generator on every
 * seeded reset, and BigInt arithmetic made that three times slower.
 */

/** A 64-bit word as [high 32 bits, low 32 bits], both unsigned. */
type Word64 = readonly [number, number];

const GOLDEN_GAMMA: Word64 = [0x9e3779b9, 0x7f4a7c15];
const MIX_1: Word64 = [0xbf58476d, 0x1ce4e5b9];
const MIX_2: Word64 = [0x94d049bb, 0x133111eb];

function add64(a: Word64, b: Word64): Word64 {
  const lo = a[1] + b[1];
  return [(a[0] + b[0] + (lo > 0xffffffff ? 1 : 0)) >>> 0, lo >>> 0];
}

function xor64(a: Word64, b: Word64): Word64 {
  return [(a[0] ^ b[0]) >>> 0, (a[1] ^ b[1]) >>> 0];
}

/** a ^ (a >>> s) for 0 < s < 32. */
function xorShiftRight(a: Word64, s: number): Word64 {
  return [(a[0] ^ (a[0] >>> s)) >>> 0, (a[1] ^ ((a[1] >>> s) | (a[0] << (32 - s)))) >>> 0];
}

/** The high 32 bits of the 64-bit product of two unsigned 32-bit numbers (16-bit limbs stay exact). */
function mulHigh32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = ((a0 * b0) >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
}

/** a * b mod 2^64. */
function mul64(a: Word64, b: Word64): Word64 {
  const hi = mulHigh32(a[1], b[1]) + Math.imul(a[0], b[1]) + Math.imul(a[1], b[0]);
  return [hi >>> 0, Math.imul(a[1], b[1]) >>> 0];
}

/** SplitMix64's output function: a bijection on 64-bit words with full avalanche. */
function mix64(x: Word64): Word64 {
  const a = mul64(xorShiftRight(x, 30), MIX_1);
  const b = mul64(xorShiftRight(a, 27), MIX_2);
  return xorShiftRight(b, 31);
}

const encoder = new TextEncoder();
// A run names a handful of purposes, and every seeded env reset uses "": hash each name once.
const purposeHashes = new Map<string, Word64>();

/** FNV-1a (64-bit) over the UTF-8 bytes of a purpose name; `mix64` afterwards supplies the avalanche. */
function hashPurpose(purpose: string): Word64 {
  const known = purposeHashes.get(purpose);
  if (known !== undefined) return known;
  const mask = (1n << 64n) - 1n;
  let h = 0xcbf29ce484222325n;
  for (const byte of encoder.encode(purpose)) h = ((h ^ BigInt(byte)) * 0x100000001b3n) & mask;
  const word: Word64 = [Number(h >> 32n), Number(h & 0xffffffffn)];
  if (purposeHashes.size < 1024) purposeHashes.set(purpose, word);
  return word;
}

/** The 64-bit key of stream `(seed, purpose)`, seed a non-negative safe integer; distinct pairs give unrelated keys. */
export function streamKey(seed: number, purpose: string): Word64 {
  const seedWord: Word64 = [Math.floor(seed / 2 ** 32) >>> 0, seed >>> 0];
  return mix64(xor64(mix64(add64(seedWord, GOLDEN_GAMMA)), hashPurpose(purpose)));
}

/**
 * Four 32-bit words of generator state from a 64-bit key: the first two outputs of a SplitMix64
 * sequence started at the key. Never all zero (xoroshiro cannot leave that state).
 */
export function stateFromKey(key: Word64): [number, number, number, number] {
  const first = add64(key, GOLDEN_GAMMA);
  const a = mix64(first);
  const b = mix64(add64(first, GOLDEN_GAMMA));
  const words: [number, number, number, number] = [a[0] | 0, a[1] | 0, b[0] | 0, b[1] | 0];
  if (words.every((w) => w === 0)) words[3] = 1;
  return words;
}

/** A 64-bit key from two 32-bit draws of a parent stream (used by `Rng.fork`). */
export function keyFromWords(hi: number, lo: number): Word64 {
  return mix64([hi >>> 0, lo >>> 0]);
}
