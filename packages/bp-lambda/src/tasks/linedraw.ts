/**
 * The toy task of the paper (the authors' `linedraw`): one of `numPoints` binary input codes is
 * shown at the first step only; after `length` steps the network must output the matching point
 * on a circle of radius `magnitude` (target at the last step only, the authors' `end_only`).
 * With a fixed linear RNN it measures how well synthetic gradients align with the true ones
 * (Figs. 2/6); with a learning tanh RNN, the longest length still solved (Table 2).
 */
import { Rng } from "@sgprop/gym";
import type { SequenceBatch } from "../sequence.js";
import { TOY_CODES_SEED, TOY_CODES_STREAM } from "../streams.js";

export interface LineDrawOptions {
  /** Input code size (the authors' input_D): 10. */
  readonly inputDim?: number;
  /** Input/target pairs: 3 (the paper's text; the YAML's 1 is a single-pair debug setting). */
  readonly numPoints?: number;
  /** Radius of the target circle: 1. */
  readonly magnitude?: number;
}

export class LineDrawTask {
  readonly inputDim: number;
  readonly numPoints: number;
  readonly outputSize = 2;
  /** [numPoints, inputDim] codes, each a distinct number in [0, 2^inputDim) in binary. */
  readonly codes: Float64Array;
  /** [numPoints, 2]: (sin a, cos a) * magnitude, a = 2 pi k / numPoints. */
  readonly points: Float64Array;

  constructor(options: LineDrawOptions = {}) {
    this.inputDim = options.inputDim ?? 10;
    this.numPoints = options.numPoints ?? 3;
    const magnitude = options.magnitude ?? 1;
    const { inputDim: D, numPoints: P } = this;
    if (!(Number.isInteger(D) && D >= 1 && D <= 30))
      throw new RangeError(`inputDim must be an integer in [1, 30], got ${D}`);
    if (!(Number.isInteger(P) && P >= 1 && P <= 2 ** D))
      throw new RangeError(`numPoints must be an integer in [1, 2^inputDim], got ${P}`);
    const rng = Rng.derive(TOY_CODES_SEED, TOY_CODES_STREAM);
    const numbers =
      D === 1 ? Array.from({ length: P }, (_, k) => k) : rng.sampleWithoutReplacement(2 ** D, P);
    this.codes = new Float64Array(P * D);
    numbers.forEach((value, k) => {
      if (D === 1) this.codes[k] = value;
      else for (let bit = 0; bit < D; bit++) this.codes[k * D + (D - 1 - bit)] = (value >> bit) & 1;
    });
    this.points = new Float64Array(P * 2);
    for (let k = 0; k < P; k++) {
      const angle = (2 * Math.PI * k) / P;
      this.points[2 * k] = magnitude * Math.sin(angle);
      this.points[2 * k + 1] = magnitude * Math.cos(angle);
    }
  }

  /** B sequences of `length` steps with pairs drawn uniformly from `rng`. */
  batch(rng: Rng, B: number, length: number): SequenceBatch & { readonly pairs: number[] } {
    if (!(Number.isInteger(length) && length >= 1))
      throw new RangeError(`length must be a positive integer, got ${length}`);
    const D = this.inputDim;
    const pairs = Array.from({ length: B }, () => rng.integer(0, this.numPoints - 1));
    const inputs = Array.from({ length }, () => new Float64Array(B * D));
    const last = new Float64Array(B * 2);
    pairs.forEach((k, n) => {
      (inputs[0] as Float64Array).set(this.codes.subarray(k * D, (k + 1) * D), n * D);
      last[2 * n] = this.points[2 * k] as number;
      last[2 * n + 1] = this.points[2 * k + 1] as number;
    });
    const targets: (Float64Array | null)[] = Array.from({ length }, (_, t) =>
      t === length - 1 ? last : null,
    );
    return { batch: B, inputs, targets, loss: "mse", pairs };
  }
}
