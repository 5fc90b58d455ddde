import * as tf from "@tensorflow/tfjs-core";

/**
 * A fixed gather along one axis whose gradient works on every backend. The wasm backend has no
 * gradient for gather (it needs UnsortedSegmentSum), so the backward pass here is itself a gather:
 * for every source position j we keep the list of output positions k with indices[k] = j, padded
 * to the largest multiplicity with a position that reads an appended zero slice, and sum them.
 * Built once per connectivity (the index tables are tensors owned by this object).
 */
export class IndexGather {
  /** Number of gathered positions (length of `indices`). */
  readonly count: number;
  /** Size of the gathered axis of the source. */
  readonly sourceSize: number;
  /** Largest number of times one source position is gathered. */
  readonly maxMultiplicity: number;
  private readonly forwardIdx: tf.Tensor1D;
  private readonly inverseIdx: tf.Tensor1D;

  constructor(indices: ArrayLike<number>, sourceSize: number) {
    this.count = indices.length;
    this.sourceSize = sourceSize;
    const lists: number[][] = Array.from({ length: sourceSize }, () => []);
    for (let k = 0; k < indices.length; k++) {
      const j = indices[k] as number;
      if (!Number.isInteger(j) || j < 0 || j >= sourceSize) {
        throw new RangeError(`gather index ${j} at position ${k} is outside [0, ${sourceSize})`);
      }
      (lists[j] as number[]).push(k);
    }
    this.maxMultiplicity = Math.max(1, ...lists.map((l) => l.length));
    const inv = new Int32Array(sourceSize * this.maxMultiplicity).fill(this.count);
    lists.forEach((l, j) => {
      l.forEach((k, c) => {
        inv[j * this.maxMultiplicity + c] = k;
      });
    });
    this.forwardIdx = tf.tensor1d(Int32Array.from(indices), "int32");
    this.inverseIdx = tf.tensor1d(inv, "int32");
  }

  /** x gathered along `axis` (x.shape[axis] must equal sourceSize); differentiable with respect to x. */
  apply(x: tf.Tensor, axis: number): tf.Tensor {
    const ax = axis < 0 ? x.rank + axis : axis;
    if (x.shape[ax] !== this.sourceSize) {
      throw new RangeError(`IndexGather: axis ${ax} of shape [${x.shape}] must have size ${this.sourceSize}`);
    }
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const xs = args[0] as tf.Tensor;
      return {
        value: tf.gather(xs, this.forwardIdx, ax),
        gradFunc: (dy: tf.Tensor | tf.Tensor[]) => this.scatterAdd(dy as tf.Tensor, ax),
      };
    });
    return op(x);
  }

  /** The adjoint of {@link apply}: sums the gathered slices back into their source positions. */
  scatterAdd(dy: tf.Tensor, axis: number): tf.Tensor {
    return tf.tidy(() => {
      const zeroShape = dy.shape.slice();
      zeroShape[axis] = 1;
      const padded = tf.concat([dy, tf.zeros(zeroShape)], axis);
      const picked = tf.gather(padded, this.inverseIdx, axis);
      const split = [
        ...dy.shape.slice(0, axis),
        this.sourceSize,
        this.maxMultiplicity,
        ...dy.shape.slice(axis + 1),
      ];
      return tf.sum(tf.reshape(picked, split), axis + 1);
    });
  }

  dispose(): void {
    this.forwardIdx.dispose();
    this.inverseIdx.dispose();
  }
}

/** A value equal to x whose gradient is zero (tfjs-core has no stopGradient). */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xs = args[0] as tf.Tensor;
    return {
      value: tf.clone(xs),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => tf.zerosLike(dy as tf.Tensor),
    };
  });
  return op(x) as T;
}
