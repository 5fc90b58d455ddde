import { Adam64, addRow, colSums, type Mat, mat, mm, scale, softplus } from "./dense64.js";
import { DniOptionError } from "./errors.js";
import { initialWeights, type NetSpec } from "./net.js";
import type { SgConditioning } from "./sg.js";
import type { Method } from "./wiring.js";

/**
 * Deep linear nets with linear SG modules in plain float64 arithmetic: the same learning rules as
 * {@link DniLearner} restricted to linear activations, linear SGs and Adam, written out by hand.
 * Two uses: a float64 reference the TensorFlow.js learner is checked against step by step, and
 * the Table 2 runs, where the models are tiny and TensorFlow.js's per-op overhead (tens of
 * microseconds) would dominate: here a step of the k = 2 models costs a few microseconds.
 */
export interface Linear64Options {
  readonly layerSizes: readonly number[];
  readonly loss: "mse" | "logistic";
  readonly method: Extract<Method, "backprop" | "sg">;
  /** Boundaries holding an SG (as in LearnerOptions.sgAt). */
  readonly sgAt: readonly number[];
  readonly conditioning: SgConditioning;
  readonly learningRate: number;
  readonly sgLearningRate?: number;
  /** Initial weights: those of a DniLearner with this seed (float32 values, widened). */
  readonly seed: number;
}

/** A linear SG module: a [d, d], b [k, d], c [1, d], present according to the conditioning. */
export interface Sg64 {
  a?: Mat;
  b?: Mat;
  c: Mat;
}

export class Linear64Learner {
  readonly w: Mat[] = [];
  readonly b: Float64Array[] = [];
  protected readonly sg: Sg64[];
  protected readonly opt: Adam64;
  protected readonly sgOpt: Adam64 | undefined;
  protected stepCount = 0;

  constructor(readonly options: Linear64Options) {
    const spec: NetSpec = { layerSizes: options.layerSizes, activation: "linear", batchNorm: false };
    for (const p of initialWeights(spec, options.seed)) {
      this.w.push(mat(p.rows, p.cols, Float64Array.from(p.w)));
      this.b.push(new Float64Array(p.cols));
    }
    const L = this.w.length;
    const out = options.layerSizes[L] as number;
    if (options.loss === "logistic" && out !== 1)
      throw new DniOptionError("layerSizes", options.layerSizes, "one output");
    const cond = options.conditioning;
    this.sg =
      options.method === "sg"
        ? options.sgAt.map((k) => {
            const d = options.layerSizes[k] as number;
            return {
              ...(cond === "both" || cond === "activation" ? { a: mat(d, d) } : {}),
              ...(cond === "both" || cond === "label" ? { b: mat(out, d) } : {}),
              c: mat(1, d),
            };
          })
        : [];
    this.opt = new Adam64(
      options.learningRate,
      this.netArrays().map((a) => a.length),
    );
    const sgArrays = this.sgArrays();
    this.sgOpt =
      sgArrays.length === 0
        ? undefined
        : new Adam64(
            options.sgLearningRate ?? options.learningRate,
            sgArrays.map((a) => a.length),
          );
  }

  get steps(): number {
    return this.stepCount;
  }

  /** The SG modules' parameters (a [d, d]?, b [out, d]?, c [1, d]) as row-major arrays. */
  sgModules(): { a?: Float64Array; b?: Float64Array; c: Float64Array }[] {
    return this.sg.map((s) => ({ ...(s.a ? { a: s.a.d } : {}), ...(s.b ? { b: s.b.d } : {}), c: s.c.d }));
  }

  /** Every array of the state by name (weights, SG, Adam moments) and the step counters. */
  state(): { arrays: Record<string, Float64Array>; steps: number; adamSteps: number; sgAdamSteps: number } {
    const arrays: Record<string, Float64Array> = {};
    for (const [i, a] of this.netArrays().entries()) arrays[`net/${i}`] = a;
    for (const [i, a] of this.sgArrays().entries()) arrays[`sg/${i}`] = a;
    for (const [name, opt] of [
      ["net", this.opt],
      ["sg", this.sgOpt],
    ] as const) {
      if (opt === undefined) continue;
      for (const [i, a] of opt.m.entries()) arrays[`adam/${name}/m/${i}`] = a;
      for (const [i, a] of opt.v.entries()) arrays[`adam/${name}/v/${i}`] = a;
    }
    return { arrays, steps: this.stepCount, adamSteps: this.opt.t, sgAdamSteps: this.sgOpt?.t ?? 0 };
  }

  /** Copies a {@link Linear64Learner.state} of a learner with the same options into this one. */
  loadState(s: {
    arrays: Readonly<Record<string, ArrayLike<number>>>;
    steps: number;
    adamSteps: number;
    sgAdamSteps: number;
  }): void {
    const own = this.state().arrays;
    for (const [name, target] of Object.entries(own)) {
      const src = s.arrays[name];
      if (src === undefined || src.length !== target.length) {
        throw new RangeError(
          `state array ${name} missing or of length ${src?.length}, expected ${target.length}`,
        );
      }
      target.set(src);
    }
    this.stepCount = s.steps;
    this.opt.t = s.adamSteps;
    if (this.sgOpt) this.sgOpt.t = s.sgAdamSteps;
  }

  protected netArrays(): Float64Array[] {
    return this.w.flatMap((w, i) => [w.d, this.b[i] as Float64Array]);
  }

  protected sgArrays(): Float64Array[] {
    return this.sg.flatMap((s) => [...(s.a ? [s.a.d] : []), ...(s.b ? [s.b.d] : []), s.c.d]);
  }

  forward(x: Mat): Mat[] {
    const hs = [x];
    for (const [i, w] of this.w.entries()) hs.push(addRow(mm(hs[i] as Mat, w), this.b[i] as Float64Array));
    return hs;
  }

  /** Mean loss of the outputs `out` [n, 1 or m] against y. */
  lossOf(out: Mat, y: Mat): number {
    let s = 0;
    for (let i = 0; i < out.d.length; i++) {
      const z = out.d[i] as number;
      const t = y.d[i] as number;
      s += this.options.loss === "mse" ? 0.5 * (z - t) ** 2 : softplus(z) - t * z;
    }
    return s / out.r;
  }

  loss(x: Mat, y: Mat): number {
    return this.lossOf(this.forward(x).at(-1) as Mat, y);
  }

  private sgOut(s: Sg64, h: Mat, y: Mat): Mat {
    let out = mat(h.r, h.c);
    out = addRow(out, s.c.d);
    if (s.a) {
      const ha = mm(h, s.a);
      out = mat(
        h.r,
        h.c,
        out.d.map((v, i) => v + (ha.d[i] as number)),
      );
    }
    if (s.b) {
      const yb = mm(y, s.b);
      out = mat(
        h.r,
        h.c,
        out.d.map((v, i) => v + (yb.d[i] as number)),
      );
    }
    return out;
  }

  /** One synchronous step, as DniLearner.step; returns the loss before it. */
  step(x: Mat, y: Mat): number {
    const hs = this.forward(x);
    const L = this.w.length;
    const n = x.r;
    const out = hs[L] as Mat;
    const before = this.lossOf(out, y);
    // dL/d(output) of the mean loss.
    const gOut = mat(
      out.r,
      out.c,
      out.d.map(
        (z, i) =>
          (this.options.loss === "mse"
            ? z - (y.d[i] as number)
            : 1 / (1 + Math.exp(-z)) - (y.d[i] as number)) / n,
      ),
    );
    const dW: Mat[] = new Array(L);
    const dB: Float64Array[] = new Array(L);
    // Backward through blocks [from, to) from cotangent g at h_to; returns the cotangent at h_from.
    const back = (from: number, to: number, g: Mat): Mat => {
      let cur = g;
      for (let i = to - 1; i >= from; i--) {
        dW[i] = mm(hs[i] as Mat, cur, true, false);
        dB[i] = colSums(cur);
        cur = mm(cur, this.w[i] as Mat, false, true);
      }
      return cur;
    };
    const sgGrads: Float64Array[] = [];
    if (this.options.method === "backprop") {
      back(0, L, gOut);
    } else {
      const ks = this.options.sgAt;
      const gUsed = new Map<number, Mat>();
      const top = ks[ks.length - 1] as number;
      gUsed.set(top, back(top, L, gOut));
      for (let j = ks.length - 1; j >= 0; j--) {
        const above = ks[j] as number;
        const from = j > 0 ? (ks[j - 1] as number) : 0;
        const dy = scale(this.sgOut(this.sg[j] as Sg64, hs[above] as Mat, y), 1 / n);
        const gIn = back(from, above, dy);
        if (from > 0) gUsed.set(from, gIn);
      }
      ks.forEach((k, j) => {
        const s = this.sg[j] as Sg64;
        const h = hs[k] as Mat;
        const target = scale(gUsed.get(k) as Mat, n);
        const r = this.sgOut(s, h, y);
        const R = mat(
          r.r,
          r.c,
          r.d.map((v, i) => v - (target.d[i] as number)),
        );
        if (s.a) sgGrads.push(scale(mm(h, R, true, false), 1 / n).d);
        if (s.b) sgGrads.push(scale(mm(y, R, true, false), 1 / n).d);
        sgGrads.push(colSums(R).map((v) => v / n));
      });
    }
    this.opt.apply(
      this.netArrays(),
      dW.flatMap((w, i) => [w.d, dB[i] as Float64Array]),
    );
    this.sgOpt?.apply(this.sgArrays(), sgGrads);
    this.stepCount += 1;
    return before;
  }
}

/** A float64 matrix from row-major data. */
export function matrix64(
  rows: number,
  cols: number,
  data: ArrayLike<number>,
): { r: number; c: number; d: Float64Array } {
  return mat(rows, cols, Float64Array.from(data));
}
