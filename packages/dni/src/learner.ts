import { Rng } from "@sgprop/gym";
import * as tf from "@tensorflow/tfjs-core";
import { DniOptionError } from "./errors.js";
import { LOSSES, type LossName, lossValue } from "./losses.js";
import {
  type BatchStats,
  type BlockParams,
  blockCount,
  blockForward,
  blockFromTensors,
  blockTensors,
  checkNetSpec,
  initialParams,
  isHidden,
  type NetSpec,
} from "./net.js";
import { Optimizer, type OptimizerName } from "./optim.js";
import {
  checkSgSpec,
  initialSgParams,
  type SgParams,
  type SgSpec,
  sgForward,
  sgFromTensors,
  sgGradients,
  sgLoss,
  sgTensors,
} from "./sg.js";
import { DNI_STREAMS } from "./streams.js";
import { METHODS, type Method, type SgTarget, sgBoundaries } from "./wiring.js";

export interface LearnerOptions {
  readonly net: NetSpec;
  readonly loss: LossName;
  readonly method: Method;
  /**
   * Block boundaries that hold an SG module (method "sg"): boundary k is h_k, the output of block
   * k (1-based; h_0 is the input). k = number of blocks puts the module on the net's output, between
   * the model and the loss (Theorem 1's setting). See {@link sgBoundaries}.
   */
  readonly sgAt?: readonly number[];
  readonly sg?: SgSpec;
  /** Default "bootstrap"; the module below the top one regresses onto what the segment above passes down. */
  readonly sgTarget?: SgTarget;
  /**
   * Test switch: the true gradient in place of every SG module's output (the modules are still
   * trained). The updates then equal backprop's bit for bit.
   */
  readonly trueGradientInPlaceOfSg?: boolean;
  readonly optimizer?: OptimizerName;
  readonly learningRate: number;
  /** The SG modules' own learning rate; default `learningRate`. */
  readonly sgLearningRate?: number;
  /** Batch-norm running-average momentum (the weight of the old average). Default 0.9. */
  readonly bnMomentum?: number;
  readonly seed: number;
}

/** Numbers from one training step. */
export interface StepStats {
  /** Training loss of the batch before the update. */
  readonly loss: number;
  /** Each SG module's regression loss before its update, in `sgAt` order. */
  readonly sgLosses: readonly number[];
}

/** Glorot-scaled fixed random matrices of the given shapes, from the "dni/feedback" stream. */
function feedbackMatrices(seed: number, shapes: readonly [number, number][]): tf.Tensor2D[] {
  const rng = Rng.derive(seed, DNI_STREAMS.feedback);
  return shapes.map(([r, c]) => {
    const limit = Math.sqrt(6 / (r + c));
    const data = new Float32Array(r * c);
    for (let i = 0; i < data.length; i++) data[i] = (2 * rng.float() - 1) * limit;
    return tf.tensor2d(data, [r, c]);
  });
}

/**
 * A feed-forward net with its learning rule. `step(x, y)` does one synchronous update of every
 * part: the net's blocks, and (method "sg") every SG module, all from the values before the step.
 */
export class DniLearner {
  readonly options: LearnerOptions;
  readonly boundaries: readonly number[];
  private params: BlockParams[];
  private sgParams: SgParams[];
  private readonly netOpt: Optimizer;
  private readonly sgOpt: Optimizer | undefined;
  private readonly feedback: tf.Tensor2D[];
  private running: { mean: tf.Tensor1D; variance: tf.Tensor1D }[];
  private stepCount = 0;

  constructor(options: LearnerOptions) {
    checkNetSpec(options.net);
    if (!LOSSES.includes(options.loss))
      throw new DniOptionError("loss", options.loss, `one of ${LOSSES.join(", ")}`);
    if (!METHODS.includes(options.method)) {
      throw new DniOptionError("method", options.method, `one of ${METHODS.join(", ")}`);
    }
    const blocks = blockCount(options.net);
    const sizes = options.net.layerSizes;
    const out = sizes[blocks] as number;
    if (options.loss === "logistic" && out !== 1) {
      throw new DniOptionError("layerSizes", sizes, "one output for the logistic loss");
    }
    this.options = options;
    this.boundaries =
      options.method === "sg" ? [...(options.sgAt ?? sgBoundaries(options.net, "middle"))] : [];
    const sorted = [...this.boundaries].sort((a, b) => a - b);
    if (
      this.boundaries.some((k) => !Number.isInteger(k) || k < 1 || k > blocks) ||
      sorted.some((k, i) => k !== this.boundaries[i] || (i > 0 && k === sorted[i - 1])) ||
      (options.method === "sg" && this.boundaries.length === 0)
    ) {
      throw new DniOptionError("sgAt", this.boundaries, `increasing distinct boundaries in 1..${blocks}`);
    }
    const sgSpec = options.sg ?? { form: "linear", conditioning: "both" };
    if (options.method === "sg") checkSgSpec(sgSpec);
    this.params = initialParams(options.net, options.seed);
    this.sgParams = this.boundaries.map((k) => initialSgParams(sgSpec, sizes[k] as number, out));
    const optimizer = options.optimizer ?? "adam";
    this.netOpt = new Optimizer(
      optimizer,
      options.learningRate,
      this.params.flatMap(blockTensors).map((t) => t.shape),
    );
    this.sgOpt =
      this.sgParams.length === 0
        ? undefined
        : new Optimizer(
            optimizer,
            options.sgLearningRate ?? options.learningRate,
            this.sgParams.flatMap(sgTensors).map((t) => t.shape),
          );
    const shapes: [number, number][] =
      options.method === "fa"
        ? Array.from({ length: blocks }, (_, i) => [sizes[i] as number, sizes[i + 1] as number])
        : options.method === "dfa"
          ? Array.from({ length: blocks - 1 }, (_, i) => [out, sizes[i + 1] as number])
          : [];
    this.feedback = feedbackMatrices(options.seed, shapes);
    this.running = this.params
      .filter((p) => p.gamma !== undefined)
      .map((p) => ({ mean: tf.zeros([p.w.shape[1]]), variance: tf.ones([p.w.shape[1]]) }));
  }

  get sgSpec(): SgSpec {
    return this.options.sg ?? { form: "linear", conditioning: "both" };
  }

  get steps(): number {
    return this.stepCount;
  }

  /** The net's parameters (owned by the learner; do not dispose). */
  get netParams(): readonly BlockParams[] {
    return this.params;
  }

  /** The SG modules' parameters in `boundaries` order (owned by the learner). */
  get sgModules(): readonly SgParams[] {
    return this.sgParams;
  }

  private blockOpts(i: number, evaluation: boolean) {
    const fb = this.options.method === "fa" ? this.feedback[i] : undefined;
    const bnIndex = this.params.slice(0, i).filter((p) => p.gamma !== undefined).length;
    const running = evaluation && this.params[i]?.gamma !== undefined ? this.running[bnIndex] : undefined;
    return { feedback: fb, runningStats: running };
  }

  /** Activations h_0 = x, ..., h_L = output; training mode (batch statistics) unless `evaluation`. */
  forwardAll(
    x: tf.Tensor2D,
    evaluation = true,
    stats?: (block: number, s: BatchStats) => void,
  ): tf.Tensor2D[] {
    const hs: tf.Tensor2D[] = [x];
    for (let i = 0; i < this.params.length; i++) {
      const h = blockForward(
        this.options.net,
        i,
        hs[i] as tf.Tensor2D,
        this.params[i] as BlockParams,
        this.blockOpts(i, evaluation),
        (s) => stats?.(i, s),
      );
      hs.push(h);
    }
    return hs;
  }

  /** The net's output for `x` (evaluation mode). */
  predict(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.forwardAll(x, true).at(-1) as tf.Tensor2D);
  }

  /** Mean loss on (x, y) in evaluation mode. */
  evaluate(x: tf.Tensor2D, y: tf.Tensor2D): number {
    return tf.tidy(() => lossValue(this.options.loss, this.predict(x), y).dataSync()[0] as number);
  }

  /** Blocks [from, to) applied to h in training mode, with params given as tensors (for tf.grads). */
  private segment(from: number, to: number, h: tf.Tensor2D, flat: readonly tf.Tensor[]): tf.Tensor2D {
    let out = h;
    let j = 0;
    for (let i = from; i < to; i++) {
      const n = blockTensors(this.params[i] as BlockParams).length;
      out = blockForward(
        this.options.net,
        i,
        out,
        blockFromTensors(flat.slice(j, j + n)),
        this.blockOpts(i, false),
      );
      j += n;
    }
    return out;
  }

  private segmentParams(from: number, to: number): tf.Tensor[] {
    return this.params.slice(from, to).flatMap(blockTensors);
  }

  /**
   * Gradients of the segment [from, to) with output cotangent `dy` (or, for the top segment, of the
   * loss): the parameters' gradients, then (when `from` > 0) the gradient with respect to h_from.
   */
  private segmentGrads(
    from: number,
    to: number,
    hs: readonly tf.Tensor2D[],
    y: tf.Tensor2D,
    dy?: tf.Tensor2D,
  ) {
    const ps = this.segmentParams(from, to);
    const input = hs[from] as tf.Tensor2D;
    const withInput = from > 0;
    const top = dy === undefined;
    const f = (...args: tf.Tensor[]) => {
      const h = withInput ? (args[ps.length] as tf.Tensor2D) : input;
      const out = this.segment(from, to, h, args.slice(0, ps.length));
      return top ? lossValue(this.options.loss, out, y) : out;
    };
    const grads = tf.grads(f)(withInput ? [...ps, input] : ps, dy);
    return {
      params: grads.slice(0, ps.length),
      input: withInput ? (grads[ps.length] as tf.Tensor2D) : undefined,
    };
  }

  /** One synchronous update of the net (and the SG modules) on the batch (x [n, in], y [n, out]). */
  step(x: tf.Tensor2D, y: tf.Tensor2D): StepStats {
    const statsSeen: { block: number; s: BatchStats }[] = [];
    const { netGrads, sgGrads, loss, sgLosses } = tf.tidy(() => {
      const hs = this.forwardAll(x, false, (block, s) => statsSeen.push({ block, s }));
      const lossT = lossValue(this.options.loss, hs.at(-1) as tf.Tensor2D, y);
      const m = this.options.method;
      let netGrads: tf.Tensor[];
      let sgGrads: tf.Tensor[] = [];
      let sgLossTs: tf.Scalar[] = [];
      const L = this.params.length;
      if (m === "backprop" || m === "fa") {
        netGrads = this.segmentGrads(0, L, hs, y).params;
      } else if (m === "dfa") {
        const out = hs[L] as tf.Tensor2D;
        const e = tf.grad((o: tf.Tensor) => lossValue(this.options.loss, o as tf.Tensor2D, y))(
          out,
        ) as tf.Tensor2D;
        const perBlock: tf.Tensor[][] = [];
        for (let i = 0; i < L; i++) {
          const dy: tf.Tensor2D = i === L - 1 ? e : tf.matMul(e, this.feedback[i] as tf.Tensor2D);
          perBlock.push(this.segmentGrads(i, i + 1, hs, y, dy).params);
        }
        netGrads = perBlock.flat();
      } else {
        ({ netGrads, sgGrads, sgLossTs } = this.sgGrads(hs, y));
      }
      return {
        netGrads,
        sgGrads,
        loss: lossT,
        sgLosses: sgLossTs.length === 0 ? undefined : tf.stack(sgLossTs),
      };
    });
    const lossValueNow = loss.dataSync()[0] as number;
    const sgLossValues = sgLosses === undefined ? [] : Array.from(sgLosses.dataSync());
    tf.dispose([loss, ...(sgLosses ? [sgLosses] : [])]);
    const flat = this.netOpt.apply(this.params.flatMap(blockTensors), netGrads);
    this.params = this.unflatten(flat);
    if (this.sgOpt !== undefined) {
      const spec = this.sgSpec;
      const updated = this.sgOpt.apply(this.sgParams.flatMap(sgTensors), sgGrads);
      let j = 0;
      this.sgParams = this.sgParams.map((p) => {
        const n = sgTensors(p).length;
        const q = sgFromTensors(spec, updated.slice(j, j + n));
        j += n;
        return q;
      });
    }
    this.updateRunning(statsSeen);
    this.stepCount += 1;
    return { loss: lossValueNow, sgLosses: sgLossValues };
  }

  /** The "sg" method: segments between boundaries, each driven by the SG module above it. */
  private sgGrads(hs: readonly tf.Tensor2D[], y: tf.Tensor2D) {
    const L = this.params.length;
    const n = (hs[0] as tf.Tensor2D).shape[0];
    const ks = this.boundaries;
    const spec = this.sgSpec;
    const oracle = this.options.trueGradientInPlaceOfSg === true;
    const wantTrue = oracle || this.options.sgTarget === "true";
    const top = ks[ks.length - 1] as number;
    // gUsed[k]: gradient at h_k passed down by the segment above, computed with that segment's own
    // learning signal; gTrue[k]: the true (backpropagated) gradient at h_k.
    const gUsed = new Map<number, tf.Tensor2D>();
    const gTrue = new Map<number, tf.Tensor2D>();
    const paramGrads: tf.Tensor[][] = [];
    if (top === L) {
      const g = tf.grad((o: tf.Tensor) => lossValue(this.options.loss, o as tf.Tensor2D, y))(
        hs[L] as tf.Tensor,
      ) as tf.Tensor2D;
      gUsed.set(L, g);
      gTrue.set(L, g);
    } else {
      const r = this.segmentGrads(top, L, hs, y);
      paramGrads.unshift(r.params);
      gUsed.set(top, r.input as tf.Tensor2D);
      gTrue.set(top, r.input as tf.Tensor2D);
    }
    for (let j = ks.length - 1; j >= 0; j--) {
      const above = ks[j] as number;
      const from = j > 0 ? (ks[j - 1] as number) : 0;
      const k = ks.indexOf(above);
      const dy = oracle
        ? (gTrue.get(above) as tf.Tensor2D)
        : tf.div(sgForward(spec, this.sgParams[k] as SgParams, hs[above] as tf.Tensor2D, y), n);
      const r = this.segmentGrads(from, above, hs, y, dy as tf.Tensor2D);
      paramGrads.unshift(r.params);
      if (from > 0) {
        gUsed.set(from, r.input as tf.Tensor2D);
        if (oracle) gTrue.set(from, r.input as tf.Tensor2D);
        else if (wantTrue) {
          gTrue.set(from, this.segmentGrads(from, above, hs, y, gTrue.get(above)).input as tf.Tensor2D);
        }
      }
    }
    const sgGrads: tf.Tensor[] = [];
    const sgLossTs: tf.Scalar[] = [];
    ks.forEach((k, i) => {
      const g = (this.options.sgTarget === "true" ? gTrue.get(k) : gUsed.get(k)) as tf.Tensor2D;
      const target = tf.mul(g, n) as tf.Tensor2D;
      const p = this.sgParams[i] as SgParams;
      const h = hs[k] as tf.Tensor2D;
      sgLossTs.push(sgLoss(spec, p, h, y, target));
      sgGrads.push(...sgGradients(spec, p, h, y, target));
    });
    return { netGrads: paramGrads.flat(), sgGrads, sgLossTs };
  }

  private unflatten(flat: readonly tf.Tensor[]): BlockParams[] {
    let j = 0;
    return this.params.map((p) => {
      const n = blockTensors(p).length;
      const q = blockFromTensors(flat.slice(j, j + n));
      j += n;
      return q;
    });
  }

  private updateRunning(seen: readonly { block: number; s: BatchStats }[]): void {
    const mom = this.options.bnMomentum ?? 0.9;
    for (const { block, s } of seen) {
      const idx = this.params.slice(0, block).filter((p) => p.gamma !== undefined).length;
      const r = this.running[idx];
      if (r !== undefined && isHidden(this.options.net, block)) {
        const mean = tf.tidy(() => tf.add(tf.mul(mom, r.mean), tf.mul(1 - mom, s.mean))) as tf.Tensor1D;
        const variance = tf.tidy(() =>
          tf.add(tf.mul(mom, r.variance), tf.mul(1 - mom, s.variance)),
        ) as tf.Tensor1D;
        tf.dispose([r.mean, r.variance]);
        this.running[idx] = { mean, variance };
      }
      tf.dispose([s.mean, s.variance]);
    }
  }

  /** Every tensor of the learner's state by canonical name, plus the counters (see checkpoint.ts). */
  stateTensors(): {
    tensors: Record<string, tf.Tensor>;
    steps: number;
    netOptSteps: number;
    sgOptSteps: number;
  } {
    const tensors: Record<string, tf.Tensor> = {};
    const names = ["w", "b", "gamma", "beta"];
    this.params.forEach((p, i) => {
      blockTensors(p).forEach((t, j) => {
        tensors[`net/${i}/${names[j]}`] = t;
      });
    });
    this.sgParams.forEach((p, i) => {
      sgTensors(p).forEach((t, j) => {
        tensors[`sg/${i}/${j}`] = t;
      });
    });
    this.running.forEach((r, i) => {
      tensors[`bn/${i}/mean`] = r.mean;
      tensors[`bn/${i}/variance`] = r.variance;
    });
    this.netOpt.state().moments.forEach((t, i) => {
      tensors[`opt/net/${i}`] = t;
    });
    this.sgOpt?.state().moments.forEach((t, i) => {
      tensors[`opt/sg/${i}`] = t;
    });
    return {
      tensors,
      steps: this.stepCount,
      netOptSteps: this.netOpt.steps,
      sgOptSteps: this.sgOpt?.steps ?? 0,
    };
  }

  /** Replaces the state with tensors named as in {@link stateTensors} (takes ownership of them). */
  loadState(
    tensors: Readonly<Record<string, tf.Tensor>>,
    counts: { steps: number; netOptSteps: number; sgOptSteps: number },
  ): void {
    const take = (name: string, like: tf.Tensor): tf.Tensor => {
      const t = tensors[name];
      if (t === undefined || t.shape.join(",") !== like.shape.join(",")) {
        throw new RangeError(
          `checkpoint tensor ${name} missing or of shape [${t?.shape}], expected [${like.shape}]`,
        );
      }
      return t;
    };
    const old = this.stateTensors().tensors;
    const names = ["w", "b", "gamma", "beta"];
    const next = this.params.map((p, i) =>
      blockFromTensors(blockTensors(p).map((t, j) => take(`net/${i}/${names[j]}`, t))),
    );
    const nextSg = this.sgParams.map((p, i) =>
      sgFromTensors(
        this.sgSpec,
        sgTensors(p).map((t, j) => take(`sg/${i}/${j}`, t)),
      ),
    );
    const nextRunning = this.running.map((r, i) => ({
      mean: take(`bn/${i}/mean`, r.mean) as tf.Tensor1D,
      variance: take(`bn/${i}/variance`, r.variance) as tf.Tensor1D,
    }));
    const netMoments = this.netOpt.state().moments.map((t, i) => take(`opt/net/${i}`, t));
    const sgMoments = this.sgOpt?.state().moments.map((t, i) => take(`opt/sg/${i}`, t)) ?? [];
    tf.dispose(Object.values(old).filter((t) => !Object.values(tensors).includes(t)));
    this.params = next;
    this.sgParams = nextSg;
    this.running = nextRunning;
    // The optimisers' moments were disposed above with the rest of the old state.
    this.netOpt.restore(counts.netOptSteps, netMoments, false);
    this.sgOpt?.restore(counts.sgOptSteps, sgMoments, false);
    this.stepCount = counts.steps;
  }

  dispose(): void {
    tf.dispose(this.params.flatMap(blockTensors));
    tf.dispose(this.sgParams.flatMap(sgTensors));
    tf.dispose(this.running.flatMap((r) => [r.mean, r.variance]));
    tf.dispose(this.feedback);
    this.netOpt.dispose();
    this.sgOpt?.dispose();
  }
}
