import type { Rng } from "@sgprop/gym";
import type { LabelledImages } from "./dataset.js";
import { ClassSubsetError, InvalidOptionError } from "./errors.js";
import type { ClassSubset } from "./preprocess.js";
import { STANDARDIZED_PIXEL, standardize } from "./preprocess.js";

/** B standardised contexts and their correct actions, reused across steps to avoid allocation. */
export interface ContextBatch {
  readonly size: number;
  /** Pixels per context (784 for MNIST). */
  readonly contextSize: number;
  /** [size, contextSize] row-major standardised pixels. */
  readonly contexts: Float32Array;
  /** [size] the correct action (index into the class subset) of each context. */
  readonly labels: Int32Array;
  /** [size] row of each context in its split, for inspection and tests. */
  readonly exampleIndices: Int32Array;
}

export function assertBatchSize(size: unknown): asserts size is number {
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 1) {
    throw new InvalidOptionError("batch size", size, "an integer >= 1");
  }
}

/** Allocates an empty batch of `size` contexts of `contextSize` pixels. */
export function createContextBatch(size: number, contextSize: number): ContextBatch {
  assertBatchSize(size);
  return {
    size,
    contextSize,
    contexts: new Float32Array(size * contextSize),
    labels: new Int32Array(size),
    exampleIndices: new Int32Array(size),
  };
}

const STANDARDIZED = new WeakMap<LabelledImages, Float32Array>();

/**
 * All images of a split, standardised once and shared by every sampler and env over that split
 * (4 bytes per pixel: 25 MB for the bundled train split, 188 MB for full MNIST's). Copying rows of
 * it is about three times faster than converting bytes through the lookup table at each draw.
 */
export function standardizedImages(split: LabelledImages): Float32Array {
  let images = STANDARDIZED.get(split);
  if (!images) {
    images = standardize(split.images);
    STANDARDIZED.set(split, images);
  }
  return images;
}

/** Draws contexts uniformly, with replacement, from the examples of one split whose class is in a subset. */
export class ContextSampler {
  /** Rows of the split whose class is in the subset. */
  readonly pool: Int32Array;
  readonly contextSize: number;
  private readonly poolActions: Int32Array;

  /** The split's standardised images, or undefined when converting bytes at each draw. */
  private readonly floats: Float32Array | undefined;

  /**
   * `precompute` (default true) keeps a float copy of the split (see {@link standardizedImages});
   * false converts each drawn image from bytes, using a quarter of the memory.
   */
  constructor(
    readonly split: LabelledImages,
    readonly subset: ClassSubset,
    splitName = "split",
    precompute = true,
  ) {
    this.contextSize = split.rows * split.cols;
    const rows: number[] = [];
    const actions: number[] = [];
    for (let i = 0; i < split.count; i++) {
      const action = subset.actionOfClass[split.labels[i] as number] ?? -1;
      if (action >= 0) {
        rows.push(i);
        actions.push(action);
      }
    }
    if (rows.length === 0) {
      throw new ClassSubsetError(subset.classes, `the ${splitName} split has no example of these classes`);
    }
    // An action whose class never appears could never be rewarded: refuse it rather than train a
    // bandit with fewer classes than asked for.
    const seen = new Set(actions);
    const missing = subset.classes.filter((_, a) => !seen.has(a));
    if (missing.length > 0) {
      throw new ClassSubsetError(
        subset.classes,
        `the ${splitName} split has no example of class ${missing.join(", ")}`,
      );
    }
    this.pool = Int32Array.from(rows);
    this.floats = precompute ? standardizedImages(split) : undefined;
    this.poolActions = Int32Array.from(actions);
  }

  /** Fills every slot of `batch` with an independent uniform draw from the pool. */
  sample(batch: ContextBatch, rng: Rng): ContextBatch {
    if (batch.contextSize !== this.contextSize) {
      throw new InvalidOptionError("batch.contextSize", batch.contextSize, `${this.contextSize}`);
    }
    const last = this.pool.length - 1;
    for (let b = 0; b < batch.size; b++) {
      this.fill(batch, b, rng.integer(0, last));
    }
    return batch;
  }

  /** Writes pool entry `j` into slot `b` of the batch. */
  fill(batch: ContextBatch, b: number, j: number): void {
    const d = this.contextSize;
    const row = this.pool[j] as number;
    const from = row * d;
    const to = b * d;
    if (this.floats) {
      batch.contexts.set(this.floats.subarray(from, from + d), to);
    } else {
      const src = this.split.images;
      const dst = batch.contexts;
      const lut = STANDARDIZED_PIXEL;
      for (let k = 0; k < d; k++) dst[to + k] = lut[src[from + k] as number] as number;
    }
    batch.labels[b] = this.poolActions[j] as number;
    batch.exampleIndices[b] = row;
  }
}
