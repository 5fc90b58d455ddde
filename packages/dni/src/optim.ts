import * as tf from "@tensorflow/tfjs-core";
import { DniOptionError } from "./errors.js";

export type OptimizerName = "adam" | "sgd";
export const OPTIMIZERS: readonly OptimizerName[] = ["adam", "sgd"];

/** Adam's constants (Kingma & Ba's defaults, which the paper's Adam runs use). */
export const ADAM_BETA1 = 0.9;
export const ADAM_BETA2 = 0.999;
export const ADAM_EPSILON = 1e-8;

/**
 * Adam (or plain SGD) over a fixed list of tensors. Parameters are immutable tensors: `apply`
 * disposes the old ones and returns the new ones, so a learner holds exactly one copy. The moments
 * and the step count are state that a checkpoint saves ({@link Optimizer.state}).
 */
export class Optimizer {
  private m: tf.Tensor[];
  private v: tf.Tensor[];
  private t = 0;

  constructor(
    readonly name: OptimizerName,
    readonly learningRate: number,
    shapes: readonly (readonly number[])[],
  ) {
    if (!OPTIMIZERS.includes(name))
      throw new DniOptionError("optimizer", name, `one of ${OPTIMIZERS.join(", ")}`);
    if (!(learningRate > 0) || !Number.isFinite(learningRate)) {
      throw new DniOptionError("learningRate", learningRate, "a finite number > 0");
    }
    this.m = name === "adam" ? shapes.map((s) => tf.zeros([...s])) : [];
    this.v = name === "adam" ? shapes.map((s) => tf.zeros([...s])) : [];
  }

  get steps(): number {
    return this.t;
  }

  /** New parameters p - lr * update(g); disposes `params` and `grads`. */
  apply(params: readonly tf.Tensor[], grads: readonly tf.Tensor[]): tf.Tensor[] {
    this.t += 1;
    const lr = this.learningRate;
    let out: tf.Tensor[];
    if (this.name === "sgd") {
      out = tf.tidy(() => params.map((p, i) => tf.sub(p, tf.mul(lr, grads[i] as tf.Tensor))));
    } else {
      const c1 = 1 - ADAM_BETA1 ** this.t;
      const c2 = 1 - ADAM_BETA2 ** this.t;
      const m = tf.tidy(() =>
        this.m.map((mi, i) => tf.add(tf.mul(ADAM_BETA1, mi), tf.mul(1 - ADAM_BETA1, grads[i] as tf.Tensor))),
      );
      const v = tf.tidy(() =>
        this.v.map((vi, i) =>
          tf.add(tf.mul(ADAM_BETA2, vi), tf.mul(1 - ADAM_BETA2, tf.square(grads[i] as tf.Tensor))),
        ),
      );
      out = tf.tidy(() =>
        params.map((p, i) => {
          const mHat = tf.div(m[i] as tf.Tensor, c1);
          const vHat = tf.div(v[i] as tf.Tensor, c2);
          return tf.sub(p, tf.mul(lr, tf.div(mHat, tf.add(tf.sqrt(vHat), ADAM_EPSILON))));
        }),
      );
      tf.dispose(this.m);
      tf.dispose(this.v);
      this.m = m;
      this.v = v;
    }
    tf.dispose([...params]);
    tf.dispose([...grads]);
    return out;
  }

  /** Moments (m then v) and the step count, for checkpoints. */
  state(): { steps: number; moments: tf.Tensor[] } {
    return { steps: this.t, moments: [...this.m, ...this.v] };
  }

  /** Restores {@link Optimizer.state}; takes ownership of `moments`. */
  restore(steps: number, moments: readonly tf.Tensor[], disposeOld = true): void {
    const k = this.m.length;
    if (moments.length !== 2 * k)
      throw new RangeError(`expected ${2 * k} optimiser moments, got ${moments.length}`);
    if (disposeOld) tf.dispose([...this.m, ...this.v]);
    this.m = moments.slice(0, k);
    this.v = moments.slice(k);
    this.t = steps;
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
    this.m = [];
    this.v = [];
  }
}
