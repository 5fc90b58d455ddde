import * as tf from "@tensorflow/tfjs-core";

/** Adam hyper-parameters; defaults are PyTorch's (no weight decay, no AMSGrad). */
export interface AdamOptions {
  readonly learningRate: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
}

/** Serialisable optimiser state: per-parameter step counts and moment tensors. */
export interface AdamState {
  readonly steps: Readonly<Record<string, number>>;
  readonly m: Readonly<Record<string, tf.Tensor>>;
  readonly v: Readonly<Record<string, tf.Tensor>>;
}

/**
 * Adam exactly as torch.optim.Adam (single-tensor path): for step k of a parameter,
 * m <- b1 m + (1-b1) g, v <- b2 v + (1-b2) g^2,
 * p <- p - (lr / (1 - b1^k)) * m / (sqrt(v) / sqrt(1 - b2^k) + eps).
 * Step counts are kept per parameter, as PyTorch does, and a parameter without a gradient in a
 * step is left untouched (moments included). Each optimiser instance has its own state, so the
 * bias correction is per optimiser (golden README pitfall 6).
 */
export class Adam {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  private readonly params: Map<string, tf.Variable>;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private readonly steps = new Map<string, number>();

  constructor(params: Readonly<Record<string, tf.Variable>>, options: AdamOptions) {
    if (!(options.learningRate >= 0) || !Number.isFinite(options.learningRate)) {
      throw new RangeError(`Adam learning rate must be finite and >= 0, got ${options.learningRate}`);
    }
    this.learningRate = options.learningRate;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.params = new Map(Object.entries(params));
    for (const [name, p] of this.params) {
      this.m.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      );
      this.v.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      );
      this.steps.set(name, 0);
    }
  }

  /** Names of the parameters this optimiser updates. */
  get names(): readonly string[] {
    return [...this.params.keys()];
  }

  /** Applies one update with the given gradients (unknown names are an error). */
  step(grads: Readonly<Record<string, tf.Tensor | undefined>>): void {
    for (const [name, g] of Object.entries(grads)) {
      if (g === undefined) continue;
      const p = this.params.get(name);
      const m = this.m.get(name);
      const v = this.v.get(name);
      if (p === undefined || m === undefined || v === undefined) {
        throw new Error(`Adam: no parameter named "${name}" (known: ${this.names.join(", ")})`);
      }
      const k = (this.steps.get(name) ?? 0) + 1;
      this.steps.set(name, k);
      const bc1 = 1 - this.beta1 ** k;
      const bc2 = 1 - this.beta2 ** k;
      tf.tidy(() => {
        const mNew = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
        const vNew = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        const denom = tf.add(tf.div(tf.sqrt(vNew), Math.sqrt(bc2)), this.epsilon);
        const update = tf.mul(tf.div(mNew, denom), this.learningRate / bc1);
        m.assign(mNew);
        v.assign(vNew);
        p.assign(tf.sub(p, update));
      });
    }
  }

  /** Copies of the state (the caller owns the returned tensors). */
  getState(): AdamState {
    const m: Record<string, tf.Tensor> = {};
    const v: Record<string, tf.Tensor> = {};
    for (const [name, t] of this.m) m[name] = tf.clone(t);
    for (const [name, t] of this.v) v[name] = tf.clone(t);
    return { steps: Object.fromEntries(this.steps), m, v };
  }

  /** Restores a state saved by {@link getState} (shapes and names must match). */
  setState(state: AdamState): void {
    for (const name of this.params.keys()) {
      const m = state.m[name];
      const v = state.v[name];
      const k = state.steps[name];
      if (m === undefined || v === undefined || k === undefined) {
        throw new Error(`Adam state lacks parameter "${name}"`);
      }
      this.m.get(name)?.assign(m);
      this.v.get(name)?.assign(v);
      this.steps.set(name, k);
    }
  }

  /** Releases the moment tensors (not the parameters). */
  dispose(): void {
    for (const t of this.m.values()) t.dispose();
    for (const t of this.v.values()) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
