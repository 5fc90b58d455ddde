import type { Rng } from "@sgprop/gym";
import type { LabelledImages } from "./dataset.js";
import { ClassSubsetError, InvalidOptionError } from "./errors.js";
import type { ClassSubset } from "./preprocess.js";
import { STANDARDIZED_PIXEL } from "./preprocess.js";

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

/** Draws contexts uniformly, with replacement, from the examples of one split whose class is in a subset. */
export class ContextSampler {
  /** Rows of the split whose class is in the subset. */
  readonly pool: Int32Array;
  readonly contextSize: number;
  private readonly poolActions: Int32Array;

  constructor(
    readonly split: LabelledImages,
    readonly subset: ClassSubset,
    splitName = "split",
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
    this.pool = Int32Array.from(rows);
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
    const src = this.split.images;
    const dst = batch.contexts;
    const lut = STANDARDIZED_PIXEL;
    const from = row * d;
    const to = b * d;
    for (let k = 0; k < d; k++) dst[to + k] = lut[src[from + k] as number] as number;
    batch.labels[b] = this.poolActions[j] as number;
    batch.exampleIndices[b] = row;
  }
}
