import { adamConstants, adamStep, kernelRuntime, transientLayout } from "@sgprop/kernels";
import * as tf from "@tensorflow/tfjs-core";
import { hostData, rememberHostData } from "../kernels/hostMirror.js";

/** Adam hyper-parameters; defaults are PyTorch's (no weight decay, no AMSGrad). */
export interface AdamOptions {
  readonly learningRate: number;
  /**
   * L2 penalty as torch.optim.Adam's `weight_decay` (added to the gradient before the moments,
   * not AdamW's decoupled decay); default 0, which leaves the update bit for bit unchanged.
   */
  readonly weightDecay?: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
  /**
   * Run the update on the SIMD kernels with the moments in kernel memory; the default is yes
   * on the wasm and cpu backends. Both paths give the same bits (tested).
   */
  readonly kernels?: boolean;
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
 *
 * On the wasm and cpu backends the moments live in the SIMD kernels' memory and a step is one
 * fused pass (kernels/adam.c) over the parameter on two threads, instead of nine tfjs kernels; the
 * float32 operations are the same, in the same order, so both paths give the same bits.
 */
export class Adam {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  private readonly params: Map<string, tf.Variable>;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private readonly steps = new Map<string, number>();
  /** Kernel-memory moments: the block and each parameter's m offset (v follows m). */
  private hostBlock = -1;
  private readonly hostOffsets = new Map<string, number>();

  constructor(params: Readonly<Record<string, tf.Variable>>, options: AdamOptions) {
    if (!(options.learningRate >= 0) || !Number.isFinite(options.learningRate)) {
      throw new RangeError(`Adam learning rate must be finite and >= 0, got ${options.learningRate}`);
    }
    this.learningRate = options.learningRate;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    if (!(this.weightDecay >= 0) || !Number.isFinite(this.weightDecay)) {
      throw new RangeError(`Adam weight decay must be finite and >= 0, got ${options.weightDecay}`);
    }
    this.params = new Map(Object.entries(params));
    const backend = tf.getBackend();
    if (options.kernels ?? (backend === "wasm" || backend === "cpu")) {
      const total = [...this.params.values()].reduce((a, p) => a + 2 * p.size, 0);
      const rt = kernelRuntime();
      this.hostBlock = rt.alloc(total);
      rt.heap(0).fill(0, this.hostBlock, this.hostBlock + total);
      let at = this.hostBlock;
      for (const [name, p] of this.params) {
        this.hostOffsets.set(name, at);
        at += 2 * p.size;
        this.steps.set(name, 0);
      }
      return;
    }
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

  /** One fused kernel step of parameter `name` (moments in kernel memory). */
  private hostStep(name: string, p: tf.Variable, g: tf.Tensor, k: number): void {
    const mo = this.hostOffsets.get(name) as number;
    const n = p.size;
    const rt = kernelRuntime();
    const { offsets, total } = transientLayout([8, n, n]);
    const [hp, po, go] = offsets as [number, number, number];
    let heap = rt.heap(total);
    heap.set(hostData(p), po);
    heap.set(hostData(g), go);
    if (this.weightDecay !== 0) {
      // torch: grad = grad + weight_decay * param, in float32 (the heap is a Float32Array).
      for (let j = 0; j < n; j++)
        heap[go + j] = (heap[go + j] as number) + Math.fround(this.weightDecay * (heap[po + j] as number));
    }
    heap = rt.heap(total);
    const settings = { beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, step: k };
    heap.set(adamConstants({ ...settings, learningRate: this.learningRate }), hp);
    adamStep(hp, po, go, mo, mo + n, n);
    const values = rt.heap(total).slice(po, po + n);
    const updated = tf.tensor(values, p.shape);
    p.assign(updated);
    updated.dispose(); // the variable keeps its own reference to the data
    rememberHostData(p, values);
  }

  /** Names of the parameters this optimiser updates. */
  get names(): readonly string[] {
    return [...this.params.keys()];
  }

  /** Applies one update with the given gradients (unknown names are an error). */
  step(grads: Readonly<Record<string, tf.Tensor | undefined>>): void {
    for (const [name, grad] of Object.entries(grads)) {
      if (grad === undefined) continue;
      const p = this.params.get(name);
      if (p === undefined) {
        throw new Error(`Adam: no parameter named "${name}" (known: ${this.names.join(", ")})`);
      }
      const k = (this.steps.get(name) ?? 0) + 1;
      this.steps.set(name, k);
      if (this.hostBlock >= 0) {
        this.hostStep(name, p, grad, k);
        continue;
      }
      const m = this.m.get(name) as tf.Variable;
      const v = this.v.get(name) as tf.Variable;
      const bc1 = 1 - this.beta1 ** k;
      const bc2 = 1 - this.beta2 ** k;
      tf.tidy(() => {
        const g = this.weightDecay === 0 ? grad : tf.add(grad, tf.mul(p, this.weightDecay));
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
    const heap = kernelRuntime().heap(0);
    for (const [name, mo] of this.hostOffsets) {
      const p = this.params.get(name) as tf.Variable;
      m[name] = tf.tensor(heap.slice(mo, mo + p.size), p.shape);
      v[name] = tf.tensor(heap.slice(mo + p.size, mo + 2 * p.size), p.shape);
    }
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
      const mo = this.hostOffsets.get(name);
      if (mo !== undefined) {
        const size = (this.params.get(name) as tf.Variable).size;
        if (m.size !== size || v.size !== size) throw new Error(`Adam state of "${name}" has the wrong size`);
        const heap = kernelRuntime().heap(0);
        heap.set(m.dataSync() as Float32Array, mo);
        heap.set(v.dataSync() as Float32Array, mo + size);
      } else {
        this.m.get(name)?.assign(m);
        this.v.get(name)?.assign(v);
      }
      this.steps.set(name, k);
    }
  }

  /** Releases the moment tensors (not the parameters). */
  dispose(): void {
    for (const t of this.m.values()) t.dispose();
    for (const t of this.v.values()) t.dispose();
    this.m.clear();
    this.v.clear();
    if (this.hostBlock >= 0) kernelRuntime().free(this.hostBlock);
    this.hostBlock = -1;
    this.hostOffsets.clear();
  }
}
