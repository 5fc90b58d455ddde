import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBundledMnist, type MnistDataset } from "../src/index.js";

/** A fresh, empty cache root for one test. */
export function freshCacheDir(): string {
  return mkdtempSync(join(tmpdir(), "sgprop-mnist-cache-"));
}

/** A shared cache under the OS temp folder, so test files after the first load from the cache. */
export const SHARED_TEST_CACHE = join(tmpdir(), "sgprop-mnist-bandit-test-cache");

let memo: MnistDataset | undefined;
export function testData(): MnistDataset {
  memo ??= loadBundledMnist({ cacheDir: SHARED_TEST_CACHE });
  return memo;
}

/** Half-width of a two-sided binomial confidence interval at z standard errors. */
export function binomialBound(p: number, n: number, z = 5): number {
  return z * Math.sqrt(Math.max(p * (1 - p), 1 / n) / n);
}

/** Byte-wise equality of two typed arrays (vitest's deep equality is slow on millions of elements). */
export function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  const x = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const y = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return x.equals(y);
}
