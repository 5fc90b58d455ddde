/**
 * Copy-repeat (Graves et al.'s Neural Turing Machine task, as the authors generate it,
 * copy_repeat.py): a start delimiter, N random 8-bit patterns, then a repeat-count channel set to
 * R / 10; the network must output the N patterns R times and then an end delimiter.
 * T = N (R + 1) + 3 steps; the loss covers steps N + 2 .. T - 1 (the authors' task_start).
 * Curriculum: a batch whose loss is below 0.15 bits makes the task harder, R and N in turn
 * (R grows while R < N, else N grows), checked per training batch as in their code.
 */
import type { Rng } from "@sgprop/gym";
import type { SequenceBatch } from "../sequence.js";

export interface CopyRepeatOptions {
  /** Bits per pattern: 8. */
  readonly bits?: number;
  /** The repeat channel holds R / normRepeat: 10. */
  readonly normRepeat?: number;
  /** Solved below this batch loss in bits: 0.15. */
  readonly solvedBits?: number;
}

export class CopyRepeatTask {
  readonly bits: number;
  readonly normRepeat: number;
  readonly solvedBits: number;
  N = 1;
  R = 1;

  constructor(options: CopyRepeatOptions = {}) {
    this.bits = options.bits ?? 8;
    this.normRepeat = options.normRepeat ?? 10;
    this.solvedBits = options.solvedBits ?? 0.15;
    if (!(Number.isInteger(this.bits) && this.bits >= 1))
      throw new RangeError(`bits must be a positive integer, got ${this.bits}`);
  }

  get inputSize(): number {
    return this.bits + 2;
  }

  get outputSize(): number {
    return this.bits + 1;
  }

  /** Sequence length of the current setting, N (R + 1) + 3. */
  get length(): number {
    return this.N * (this.R + 1) + 3;
  }

  /** The authors' increment: R catches up with N first, then N grows. */
  increment(): void {
    if (this.R < this.N) this.R++;
    else this.N++;
  }

  /** Applies the curriculum to one training batch's loss (in nats); true when it moved on. */
  observe(lossNats: number): boolean {
    if (lossNats / Math.LN2 < this.solvedBits) {
      this.increment();
      return true;
    }
    return false;
  }

  batch(rng: Rng, B: number): SequenceBatch {
    const { bits: K, N, R } = this;
    const T = this.length;
    const I = K + 2;
    const O = K + 1;
    const inputs = Array.from({ length: T }, () => new Float64Array(B * I));
    const targets: (Float64Array | null)[] = Array.from({ length: T }, (_, t) =>
      t >= N + 2 ? new Float64Array(B * O) : null,
    );
    for (let n = 0; n < B; n++) {
      (inputs[0] as Float64Array)[n * I + K] = 1;
      (inputs[N + 1] as Float64Array)[n * I + K + 1] = R / this.normRepeat;
      for (let p = 0; p < N; p++) {
        for (let k = 0; k < K; k++) {
          const bit = rng.bernoulli(0.5) ? 1 : 0;
          (inputs[1 + p] as Float64Array)[n * I + k] = bit;
          for (let r = 0; r < R; r++) (targets[N + 2 + r * N + p] as Float64Array)[n * O + k] = bit;
        }
      }
      (targets[T - 1] as Float64Array)[n * O + K] = 1;
    }
    return { batch: B, inputs, targets, loss: "bce" };
  }
}
