/**
 * The linear readout y_t = W_out h_t + b_out and the three losses of the paper's tasks, with their
 * gradients written out (the authors' code computes them by hand too, eprop_synthgrad.py).
 */
import type { Rng } from "@sgprop/gym";

/**
 * mse: the toy task, l = 0.5 sum_o (y - target)^2 per example (gradient (y - target), as the
 *      authors'); the reported loss is sum_o (y - target)^2, their "MSE x output size".
 * bce: copy-repeat, mean over outputs of the binary cross-entropy of sigmoid(y).
 * xent: sequential MNIST, softmax cross-entropy; targets are one-hot.
 */
export type LossKind = "mse" | "bce" | "xent";

export class Readout {
  /** [O, H]. */
  readonly weight: Float64Array;
  /** [O]. */
  readonly bias: Float64Array;

  constructor(
    readonly hiddenSize: number,
    readonly outputSize: number,
    rng: Rng,
  ) {
    // PyTorch's Linear default (kaiming_uniform with a = sqrt(5)): U(-1/sqrt(H), 1/sqrt(H)).
    const bound = 1 / Math.sqrt(hiddenSize);
    this.weight = Float64Array.from({ length: outputSize * hiddenSize }, () => (2 * rng.float() - 1) * bound);
    this.bias = Float64Array.from({ length: outputSize }, () => (2 * rng.float() - 1) * bound);
  }

  /** y [B, O] from the first H entries of each state row (stride S). */
  forward(state: Float64Array, stride: number, B: number): Float64Array {
    const { hiddenSize: H, outputSize: O } = this;
    const y = new Float64Array(B * O);
    for (let n = 0; n < B; n++) {
      for (let o = 0; o < O; o++) {
        let v = this.bias[o] as number;
        for (let k = 0; k < H; k++)
          v += (this.weight[o * H + k] as number) * (state[n * stride + k] as number);
        y[n * O + o] = v;
      }
    }
    return y;
  }

  /**
   * Given dL/dy [B, O]: adds the readout's gradients into gW, gB and returns dL/dstate [B, S]
   * (zero beyond the first H entries).
   */
  backward(
    state: Float64Array,
    stride: number,
    dy: Float64Array,
    B: number,
    gW: Float64Array,
    gB: Float64Array,
  ): Float64Array {
    const { hiddenSize: H, outputSize: O } = this;
    const dState = new Float64Array(B * stride);
    for (let n = 0; n < B; n++) {
      for (let o = 0; o < O; o++) {
        const d = dy[n * O + o] as number;
        if (d === 0) continue;
        gB[o] = (gB[o] as number) + d;
        for (let k = 0; k < H; k++) {
          gW[o * H + k] = (gW[o * H + k] as number) + d * (state[n * stride + k] as number);
          dState[n * stride + k] =
            (dState[n * stride + k] as number) + d * (this.weight[o * H + k] as number);
        }
      }
    }
    return dState;
  }
}

/** The batch-mean loss of one step, its gradient dL/dy scaled by `weight`, and the step's accuracy. */
export function stepLoss(
  kind: LossKind,
  y: Float64Array,
  target: Float64Array,
  B: number,
  O: number,
  weight: number,
): { loss: number; dy: Float64Array; correct: number } {
  const dy = new Float64Array(B * O);
  let loss = 0;
  let correct = 0;
  for (let n = 0; n < B; n++) {
    if (kind === "xent") {
      let max = Number.NEGATIVE_INFINITY;
      let arg = 0;
      for (let o = 0; o < O; o++) {
        const v = y[n * O + o] as number;
        if (v > max) [max, arg] = [v, o];
      }
      let z = 0;
      for (let o = 0; o < O; o++) z += Math.exp((y[n * O + o] as number) - max);
      for (let o = 0; o < O; o++) {
        const p = Math.exp((y[n * O + o] as number) - max) / z;
        const t = target[n * O + o] as number;
        if (t > 0) loss -= t * Math.log(Math.max(p, 1e-300));
        dy[n * O + o] = (weight * (p - t)) / B;
      }
      if ((target[n * O + arg] as number) === 1) correct++;
      continue;
    }
    for (let o = 0; o < O; o++) {
      const v = y[n * O + o] as number;
      const t = target[n * O + o] as number;
      if (kind === "mse") {
        loss += 0.5 * (v - t) ** 2;
        dy[n * O + o] = (weight * (v - t)) / B;
      } else {
        // log(1 + e^v) - t v, computed without overflow.
        loss += (Math.max(v, 0) - v * t + Math.log1p(Math.exp(-Math.abs(v)))) / O;
        const p = 1 / (1 + Math.exp(-v));
        dy[n * O + o] = (weight * (p - t)) / (B * O);
        if (p > 0.5 === t > 0.5) correct += 1 / O;
      }
    }
  }
  return { loss: (weight * loss) / B, dy, correct };
}
