/**
 * What a forward pass of the feed-forward SparseNet keeps for its backward pass: tfjs tensors per
 * layer on the reference path, or (NativeLayerCache) arrays left in the kernels' memory whose
 * tensors are made only when a tfjs code path asks for them.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { NativeFeedforward } from "./sparsenetKernels.js";

/** Everything the forward pass keeps for the backward pass of one layer (sample-major). */
export interface FeedforwardLayerCache {
  /** Neuron inputs [B, W, nd]. */
  readonly u: tf.Tensor;
  /** Routing weights [B, W, M]. */
  readonly alpha: tf.Tensor;
  /** Slot outputs [B, W, M, q]. */
  readonly y: tf.Tensor;
  /** Layer output h_l [B, W, q]. */
  readonly h: tf.Tensor;
  /** tanh(out) of a residual layer (l > 0), else undefined. */
  readonly tanhOut?: tf.Tensor;
  /** SG prediction hhat_l(u_l) [B, W, q] when requested. */
  readonly sgPred?: tf.Tensor;
  /** SG slot maps Atilde u + btilde [B, W, M, q] behind sgPred. */
  readonly sgLin?: tf.Tensor;
}

/** Forward values of the network for a batch. */
export interface FeedforwardForward {
  readonly layers: readonly FeedforwardLayerCache[];
  /** Action logits [B, A]. */
  readonly logits: tf.Tensor;
  /** Set when the pass ran on the SIMD kernels: its arrays live in the kernels' memory. */
  readonly native?: NativeTraceRef;
}

/** A forward pass held in kernel memory (valid until the network's next forward pass). */
export interface NativeTraceRef {
  readonly engine: NativeFeedforward;
  readonly generation: number;
  readonly withSg: boolean;
}

/** The engine of a trace, after checking that no later forward pass overwrote it. */
export function liveTrace(ref: NativeTraceRef): NativeFeedforward {
  if (ref.engine.generation !== ref.generation) {
    throw new Error(
      "this SparseNet forward trace is stale: a later forward pass of the same network overwrote it",
    );
  }
  return ref.engine;
}

/**
 * A layer cache whose arrays stay in kernel memory; each tensor is materialised (in the current
 * tfjs scope) only when a tfjs code path asks for it, e.g. the reference implementation of an
 * option the kernels do not cover.
 */
export class NativeLayerCache implements FeedforwardLayerCache {
  private readonly made = new Map<string, tf.Tensor>();
  constructor(
    private readonly ref: NativeTraceRef,
    private readonly l: number,
    readonly h: tf.Tensor,
    private readonly residual: boolean,
  ) {}

  private tensor(name: "u" | "alpha" | "y" | "tanh" | "sgLin" | "sgPred", shape: number[]): tf.Tensor {
    const have = this.made.get(name);
    if (have !== undefined && !have.isDisposed) return have;
    const t = tf.tensor(liveTrace(this.ref).read(this.l, name), shape);
    this.made.set(name, t);
    return t;
  }

  private dims(): [number, number, number, number, number] {
    const c = this.ref.engine.config;
    return [this.h.shape[0] as number, c.width, c.numSlots, c.neuronDim, c.numParents * c.neuronDim];
  }

  get u(): tf.Tensor {
    const [b, w, , , nd] = this.dims();
    return this.tensor("u", [b, w, nd]);
  }
  get alpha(): tf.Tensor {
    const [b, w, m] = this.dims();
    return this.tensor("alpha", [b, w, m]);
  }
  get y(): tf.Tensor {
    const [b, w, m, q] = this.dims();
    return this.tensor("y", [b, w, m, q]);
  }
  get tanhOut(): tf.Tensor | undefined {
    const [b, w, , q] = this.dims();
    return this.residual ? this.tensor("tanh", [b, w, q]) : undefined;
  }
  get sgPred(): tf.Tensor | undefined {
    const [b, w, , q] = this.dims();
    return this.ref.withSg ? this.tensor("sgPred", [b, w, q]) : undefined;
  }
  get sgLin(): tf.Tensor | undefined {
    const [b, w, m, q] = this.dims();
    return this.ref.withSg ? this.tensor("sgLin", [b, w, m, q]) : undefined;
  }
}
