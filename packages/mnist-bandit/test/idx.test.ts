import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  classCounts,
  DatasetMismatchError,
  DatasetNotFoundError,
  encodeIdx,
  evaluatePolicy,
  IDX_FILES,
  type IdxArray,
  type IdxDtype,
  IdxFormatError,
  loadIdxDataset,
  MnistBandit,
  MnistBanditEnv,
  parseIdx,
  readIdxFile,
} from "../src/index.js";
import { freshCacheDir, sameBytes } from "./helpers.js";

/** Debian's dataset-fashion-mnist location; SGPROP_FASHION_MNIST_DIR points elsewhere. */
const FASHION_DIR = process.env.SGPROP_FASHION_MNIST_DIR ?? "/usr/share/datasets/fashion-mnist";
const hasFashion = existsSync(join(FASHION_DIR, "train-images-idx3-ubyte.gz"));
if (!hasFashion) {
  console.warn(
    `Fashion-MNIST test skipped: no IDX files in ${FASHION_DIR} (apt-get install dataset-fashion-mnist)`,
  );
}

interface Split {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

function randomSplit(count: number, rows: number, cols: number, seed: number): Split {
  const images = new Uint8Array(count * rows * cols);
  const labels = new Uint8Array(count);
  let s = seed;
  for (let i = 0; i < images.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    images[i] = s >>> 24;
  }
  for (let i = 0; i < count; i++) labels[i] = (i * 7 + seed) % 10;
  return { images, labels, count };
}

/** Writes the four standard files; `gzip` chooses which are compressed; `names` renames stems. */
function writeDataset(
  dir: string,
  train: Split,
  test: Split,
  opts: { gzip?: boolean; rows?: number; cols?: number; dotted?: boolean } = {},
): void {
  mkdirSync(dir, { recursive: true });
  const rows = opts.rows ?? 28;
  const cols = opts.cols ?? 28;
  const write = (stem: string, array: IdxArray) => {
    const name = opts.dotted ? stem.replace(/-(idx\d)-/, ".$1-") : stem;
    const bytes = encodeIdx(array);
    if (opts.gzip) writeFileSync(join(dir, `${name}.gz`), gzipSync(bytes));
    else writeFileSync(join(dir, name), bytes);
  };
  write(IDX_FILES.trainImages, { dtype: "uint8", shape: [train.count, rows, cols], data: train.images });
  write(IDX_FILES.trainLabels, { dtype: "uint8", shape: [train.count], data: train.labels });
  write(IDX_FILES.testImages, { dtype: "uint8", shape: [test.count, rows, cols], data: test.images });
  write(IDX_FILES.testLabels, { dtype: "uint8", shape: [test.count], data: test.labels });
}

const dtypeArb = fc.constantFrom<IdxDtype>("uint8", "int8", "int16", "int32", "float32", "float64");

function valuesFor(dtype: IdxDtype, n: number): fc.Arbitrary<number[]> {
  const base: Record<IdxDtype, fc.Arbitrary<number>> = {
    uint8: fc.integer({ min: 0, max: 255 }),
    int8: fc.integer({ min: -128, max: 127 }),
    int16: fc.integer({ min: -32768, max: 32767 }),
    int32: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    float32: fc.float({ noNaN: true }),
    float64: fc.double({ noNaN: true }),
  };
  return fc.array(base[dtype], { minLength: n, maxLength: n });
}

const CTOR = {
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
} as const;

describe("IDX codec", () => {
  it("round-trips every IDX element type and shape, plain and gzipped", () => {
    const arrayArb = fc
      .tuple(dtypeArb, fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 4 }))
      .chain(([dtype, shape]) =>
        valuesFor(
          dtype,
          shape.reduce((a, b) => a * b, 1),
        ).map((values) => ({ dtype, shape, data: CTOR[dtype].from(values) }) as IdxArray),
      );
    fc.assert(
      fc.property(arrayArb, fc.boolean(), (array, gzip) => {
        const bytes = encodeIdx(array);
        const parsed = parseIdx(gzip ? gzipSync(bytes) : bytes);
        expect(parsed.dtype).toBe(array.dtype);
        expect(parsed.shape).toEqual(array.shape);
        expect(Array.from(parsed.data)).toEqual(Array.from(array.data));
      }),
      { numRuns: 200 },
    );
  });

  it("writes the big-endian header of the published MNIST files", () => {
    const bytes = encodeIdx({ dtype: "uint8", shape: [60000, 28, 28], data: new Uint8Array(60000 * 784) });
    expect(Array.from(bytes.subarray(0, 16))).toEqual([
      0, 0, 8, 3, 0, 0, 0xea, 0x60, 0, 0, 0, 28, 0, 0, 0, 28,
    ]);
  });

  it("rejects wrong magic numbers, naming the file and the bytes found", () => {
    const good = encodeIdx({ dtype: "uint8", shape: [2], data: Uint8Array.of(1, 2) });
    for (const [i, v] of [
      [0, 1],
      [1, 8],
      [2, 0x07],
      [3, 0],
    ] as const) {
      const bad = good.slice();
      bad[i] = v;
      expect(() => parseIdx(bad, "labels.idx")).toThrow(IdxFormatError);
      expect(() => parseIdx(bad, "labels.idx")).toThrow(/labels\.idx: wrong magic number 0x/);
    }
    // a PNG is not an IDX file
    expect(() => parseIdx(Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0))).toThrow(/0x89504e47/);
  });

  it("rejects truncated files (magic, header, data, gzip stream) and trailing bytes", () => {
    const good = encodeIdx({ dtype: "uint8", shape: [3, 2, 2], data: new Uint8Array(12).fill(9) });
    expect(() => parseIdx(good.subarray(0, 2))).toThrow(/truncated: 2 bytes/);
    expect(() => parseIdx(good.subarray(0, 10))).toThrow(/truncated header/);
    expect(() => parseIdx(good.subarray(0, good.length - 1))).toThrow(
      /truncated: shape \[3, 2, 2\] of uint8 needs 28 bytes, file has 27/,
    );
    const gz = gzipSync(good);
    expect(() => parseIdx(gz.subarray(0, gz.length - 6), "x.gz")).toThrow(/x\.gz: corrupt or truncated gzip/);
    const long = new Uint8Array(good.length + 3);
    long.set(good);
    expect(() => parseIdx(long)).toThrow(/3 unexpected trailing bytes/);
  });
});

describe("loadIdxDataset", () => {
  const train = randomSplit(50, 28, 28, 1);
  const test = randomSplit(20, 28, 28, 2);

  for (const [label, opts] of [
    ["plain", {}],
    ["gzipped", { gzip: true }],
    ["dotted names", { dotted: true }],
  ] as const) {
    it(`round-trips a data set written by the test (${label})`, async () => {
      const dir = join(freshCacheDir(), "mnist");
      writeDataset(dir, train, test, opts);
      const data = loadIdxDataset(dir);
      expect(data.source).toBe(dir);
      expect([data.train.count, data.test.count, data.train.rows, data.train.cols]).toEqual([50, 20, 28, 28]);
      expect(sameBytes(data.train.images, train.images)).toBe(true);
      expect(sameBytes(data.test.images, test.images)).toBe(true);
      expect(Array.from(data.train.labels)).toEqual(Array.from(train.labels));
      expect(data.numClasses).toBe(10);
      // the same in-memory type drives the bandit, the env and the evaluation helper
      const bandit = new MnistBandit({ dataDir: dir, seed: 3 });
      const batch = bandit.sample(bandit.createBatch(8));
      expect(batch.contexts.length).toBe(8 * 784);
      const env = new MnistBanditEnv({ dataDir: dir, split: "test" });
      const [, info] = env.reset({ seed: 1 });
      expect(info.exampleIndex as number).toBeLessThan(20);
      const seen = new Set<number>();
      const oracle = await evaluatePolicy(
        (b) => {
          for (const row of b.exampleIndices) {
            expect(row).toBeLessThan(20); // rows of the 20-image test split written above
            seen.add(test.labels[row] as number);
          }
          return { actions: b.labels };
        },
        { dataDir: dir, n: 40 },
      );
      expect(oracle.expectedReward).toBe(1);
      expect([...seen].every((c) => c !== 2)).toBe(true); // default subset, from the test labels
    });
  }

  it("rejects mismatched image and label counts", () => {
    const dir = freshCacheDir();
    writeDataset(dir, train, test);
    writeFileSync(
      join(dir, IDX_FILES.trainLabels),
      encodeIdx({ dtype: "uint8", shape: [49], data: train.labels.subarray(0, 49) }),
    );
    expect(() => loadIdxDataset(dir)).toThrow(DatasetMismatchError);
    expect(() => loadIdxDataset(dir)).toThrow(/has 50 images but .*train-labels-idx1-ubyte has 49 labels/);
  });

  it("rejects a test split whose image size differs from the train split", () => {
    const dir = freshCacheDir();
    writeDataset(dir, train, test);
    writeFileSync(
      join(dir, IDX_FILES.testImages),
      encodeIdx({ dtype: "uint8", shape: [20, 14, 56], data: test.images }),
    );
    expect(() => loadIdxDataset(dir)).toThrow(/train images are 28x28 but test images are 14x56/);
  });

  it("rejects image files that are not unsigned bytes [n, rows, cols]", () => {
    const dir = freshCacheDir();
    writeDataset(dir, train, test);
    writeFileSync(
      join(dir, IDX_FILES.trainImages),
      encodeIdx({ dtype: "uint8", shape: [50 * 784], data: train.images }),
    );
    expect(() => loadIdxDataset(dir)).toThrow(
      /expected unsigned bytes of shape \[n, rows, cols\], got uint8 \[39200\]/,
    );
  });

  it("names the files it looked for when one is missing", () => {
    const dir = freshCacheDir();
    expect(() => loadIdxDataset(dir)).toThrow(DatasetNotFoundError);
    expect(() => loadIdxDataset(dir)).toThrow(/train-images-idx3-ubyte, train-images-idx3-ubyte\.gz/);
  });

  it("reads a truncated file on disk with a clear error", () => {
    const dir = freshCacheDir();
    writeDataset(dir, train, test);
    const path = join(dir, IDX_FILES.testImages);
    writeFileSync(
      path,
      encodeIdx({ dtype: "uint8", shape: [20, 28, 28], data: test.images }).subarray(0, 5000),
    );
    expect(() => readIdxFile(path)).toThrow(/t10k-images-idx3-ubyte: truncated/);
    expect(() => loadIdxDataset(dir)).toThrow(IdxFormatError);
  });
});

describe("Debian's Fashion-MNIST (package dataset-fashion-mnist)", () => {
  it.skipIf(!hasFashion)(
    `reads the real gzipped IDX files in ${FASHION_DIR}${hasFashion ? "" : " — SKIPPED: apt-get install dataset-fashion-mnist to run"}`,
    () => {
      const data = loadIdxDataset(FASHION_DIR);
      expect([data.train.count, data.test.count]).toEqual([60_000, 10_000]);
      expect([data.train.rows, data.train.cols]).toEqual([28, 28]);
      expect(data.numClasses).toBe(10);
      expect(classCounts(data.train, 10)).toEqual(new Array(10).fill(6000));
      expect(classCounts(data.test, 10)).toEqual(new Array(10).fill(1000));
      const bandit = new MnistBandit({ dataset: data, classes: [9, 0], pFlip: 0, seed: 0 });
      const batch = bandit.sample(bandit.createBatch(16));
      for (let b = 0; b < 16; b++) {
        const row = batch.exampleIndices[b] as number;
        expect(bandit.classes[batch.labels[b] as number]).toBe(data.train.labels[row]);
      }
    },
  );
});
