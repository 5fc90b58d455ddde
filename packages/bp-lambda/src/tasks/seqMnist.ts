/**
 * Sequential MNIST, row by row: 28 steps of 28 pixels in [0, 1] (the authors' ToTensor, no
 * standardisation), the class read out at the last step with a softmax. Data from
 * @sgprop/mnist-bandit: its bundled 10,000 real digits by default, full MNIST from IDX files.
 */
import type { Rng } from "@sgprop/gym";
import type { LabelledImages, MnistDataset } from "@sgprop/mnist-bandit";
import type { SequenceBatch } from "../sequence.js";

export class SeqMnistTask {
  readonly rows: number;
  readonly cols: number;
  readonly numClasses: number;

  constructor(readonly dataset: MnistDataset) {
    this.rows = dataset.train.rows;
    this.cols = dataset.train.cols;
    this.numClasses = dataset.numClasses;
  }

  get inputSize(): number {
    return this.cols;
  }

  /** B images of `split` (uniform with replacement from `rng`, or the given indices). */
  batch(split: LabelledImages, B: number, rng: Rng | null, indices?: readonly number[]): SequenceBatch {
    const { rows, cols, numClasses: C } = this;
    const picks = indices ?? Array.from({ length: B }, () => (rng as Rng).integer(0, split.count - 1));
    const inputs = Array.from({ length: rows }, () => new Float64Array(B * cols));
    const last = new Float64Array(B * C);
    picks.forEach((i, n) => {
      const base = i * rows * cols;
      for (let r = 0; r < rows; r++) {
        const row = inputs[r] as Float64Array;
        for (let c = 0; c < cols; c++)
          row[n * cols + c] = (split.images[base + r * cols + c] as number) / 255;
      }
      last[n * C + (split.labels[i] as number)] = 1;
    });
    const targets: (Float64Array | null)[] = Array.from({ length: rows }, (_, t) =>
      t === rows - 1 ? last : null,
    );
    return { batch: picks.length, inputs, targets, loss: "xent" };
  }
}
