import * as tf from "@tensorflow/tfjs-core";
import { DniOptionError } from "./errors.js";

/**
 * What a synthetic-gradient module sees (Czarnecki et al. 2017, Sec. 3 and Fig. 9):
 * - "both":       SG(h, y) = h A + y B + C   (label-conditioned linear SG)
 * - "activation": SG(h)    = h A + C         (no labels)
 * - "label":      SG(y)    = y B + C         (no activations)
 * - "none":       SG       = C               (a constant, as in the critical-point example)
 */
export type SgConditioning = "both" | "activation" | "label" | "none";
export const SG_CONDITIONINGS: readonly SgConditioning[] = ["both", "activation", "label", "none"];

/**
 * "linear": the forms above. "sigmoid-linear": SG(h, y) = (sigmoid(h A + C) - y) B, the form of the
 * true gradient of a log loss behind a linear layer (dl/dh = (sigmoid(h V) - y) V^T), which a linear
 * SG cannot represent; it is the module the paper's log-loss discussion calls for.
 */
export type SgForm = "linear" | "sigmoid-linear";
export const SG_FORMS: readonly SgForm[] = ["linear", "sigmoid-linear"];

export interface SgSpec {
  readonly form: SgForm;
  readonly conditioning: SgConditioning;
}

/** Parameters of one module. Linear: a [d, d], b [k, d], c [1, d]; sigmoid-linear: a [d, k], c [1, k], b [k, d]. */
export interface SgParams {
  readonly a?: tf.Tensor2D;
  readonly b?: tf.Tensor2D;
  readonly c: tf.Tensor2D;
}

export function checkSgSpec(spec: SgSpec): void {
  if (!SG_FORMS.includes(spec.form))
    throw new DniOptionError("sg.form", spec.form, `one of ${SG_FORMS.join(", ")}`);
  if (!SG_CONDITIONINGS.includes(spec.conditioning)) {
    throw new DniOptionError("sg.conditioning", spec.conditioning, `one of ${SG_CONDITIONINGS.join(", ")}`);
  }
  if (spec.form === "sigmoid-linear" && spec.conditioning !== "both") {
    throw new DniOptionError("sg.conditioning", spec.conditioning, `"both" with sg.form "sigmoid-linear"`);
  }
}

export function usesActivations(spec: SgSpec): boolean {
  return spec.conditioning === "both" || spec.conditioning === "activation";
}

export function usesLabels(spec: SgSpec): boolean {
  return spec.conditioning === "both" || spec.conditioning === "label";
}

/**
 * Zero parameters: the module starts by predicting a zero gradient, as Jaderberg et al. initialise
 * the SG's last layer. `dim` is the width of h, `labels` the width of y. Zero is a fixed point of the
 * sigmoid-linear form's regression only for A and C, so its B starts at zero too and moves first.
 */
export function initialSgParams(spec: SgSpec, dim: number, labels: number): SgParams {
  checkSgSpec(spec);
  if (spec.form === "sigmoid-linear") {
    return { a: tf.zeros([dim, labels]), b: tf.zeros([labels, dim]), c: tf.zeros([1, labels]) };
  }
  return {
    ...(usesActivations(spec) ? { a: tf.zeros([dim, dim]) as tf.Tensor2D } : {}),
    ...(usesLabels(spec) ? { b: tf.zeros([labels, dim]) as tf.Tensor2D } : {}),
    c: tf.zeros([1, dim]),
  };
}

/** The tensors of a module in a fixed order (a?, b?, c): the order of gradients and optimiser slots. */
export function sgTensors(p: SgParams): tf.Tensor[] {
  return [...(p.a ? [p.a] : []), ...(p.b ? [p.b] : []), p.c];
}

export function sgFromTensors(spec: SgSpec, ts: readonly tf.Tensor[]): SgParams {
  let i = 0;
  const a = spec.form === "sigmoid-linear" || usesActivations(spec) ? (ts[i++] as tf.Tensor2D) : undefined;
  const b = spec.form === "sigmoid-linear" || usesLabels(spec) ? (ts[i++] as tf.Tensor2D) : undefined;
  const c = ts[i] as tf.Tensor2D;
  return { ...(a ? { a } : {}), ...(b ? { b } : {}), c };
}

/** The synthetic gradient for activations h [n, d] and labels y [n, k]: one row per example. */
export function sgForward(spec: SgSpec, p: SgParams, h: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    if (spec.form === "sigmoid-linear") {
      const s = tf.sigmoid(tf.add(tf.matMul(h, p.a as tf.Tensor2D), p.c));
      return tf.matMul(tf.sub(s, y), p.b as tf.Tensor2D);
    }
    let out: tf.Tensor2D = tf.tile(p.c, [h.shape[0], 1]);
    if (p.a !== undefined) out = tf.add(out, tf.matMul(h, p.a));
    if (p.b !== undefined) out = tf.add(out, tf.matMul(y, p.b));
    return out;
  });
}

/**
 * The module's regression loss onto per-example targets T [n, d] (the true gradient, or a
 * bootstrapped one): (1 / 2n) sum_i ||SG(h_i, y_i) - T_i||^2.
 */
export function sgLoss(
  spec: SgSpec,
  p: SgParams,
  h: tf.Tensor2D,
  y: tf.Tensor2D,
  target: tf.Tensor2D,
): tf.Scalar {
  return tf.tidy(() => {
    const r = tf.sub(sgForward(spec, p, h, y), target);
    return tf.div(tf.mul(0.5, tf.sum(tf.square(r))), h.shape[0]);
  });
}

/**
 * The regression gradient of a linear module, written out: with residual R = SG - T,
 * dA = h^T R / n, dB = y^T R / n, dC = 1^T R / n. Returned in {@link sgTensors} order.
 */
export function linearSgGradients(
  spec: SgSpec,
  p: SgParams,
  h: tf.Tensor2D,
  y: tf.Tensor2D,
  target: tf.Tensor2D,
): tf.Tensor[] {
  return tf.tidy(() => {
    const n = h.shape[0];
    const r = tf.sub(sgForward(spec, p, h, y), target);
    const grads: tf.Tensor[] = [];
    if (p.a !== undefined) grads.push(tf.div(tf.matMul(h, r, true, false), n));
    if (p.b !== undefined) grads.push(tf.div(tf.matMul(y, r, true, false), n));
    grads.push(tf.div(tf.sum(r, 0, true), n));
    return grads;
  });
}

/** The regression gradient of any module form, by TensorFlow.js autodiff of {@link sgLoss}. */
export function sgGradients(
  spec: SgSpec,
  p: SgParams,
  h: tf.Tensor2D,
  y: tf.Tensor2D,
  target: tf.Tensor2D,
): tf.Tensor[] {
  if (spec.form === "linear") return linearSgGradients(spec, p, h, y, target);
  return tf.tidy(() =>
    tf.grads((...ts: tf.Tensor[]) => sgLoss(spec, sgFromTensors(spec, ts), h, y, target))(sgTensors(p)),
  );
}
