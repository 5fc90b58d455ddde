/**
 * What a model hands to the gradient diagnosis (`sgprop diagnose`): the pool moments of its
 * per-sample gradients in the two spaces the issue names, the layout of its units, and the live
 * mixing weights. The feed-forward (bandit) and recurrent (POPGym) SparseNets each produce one;
 * the report (estimators, batch sizes, figures) is written once for both.
 */
import type { Coefficients } from "./estimatorErrors.js";
import type { PoolMoments } from "./poolMoments.js";

/**
 * The gradient kinds every diagnosis carries, per neuron (gradients of the neuron's own
 * parameters A, b, keys):
 * - `backprop`: induced by the true received gradient (theta = 1 everywhere in the backward pass);
 * - `live`: induced by the gradient the neuron receives in the trainer's own (mixed) backward pass;
 * - `synthetic`: induced by the neuron's synthetic substitute s (the trainer's SG mode);
 * - `applied` (optional): what the trainer actually applies, where it is not theta * live +
 *   (1 - theta) * synthetic with one theta per neuron (the recurrent net's temporal schedule).
 */
export const DIAGNOSIS_KINDS = ["backprop", "live", "synthetic"] as const;

/** A contiguous range of units [from, to) reported as one layer. */
export interface DiagnosisLayer {
  readonly name: string;
  readonly from: number;
  readonly to: number;
}

export interface DiagnosisMoments {
  /**
   * Raw parameter gradients: the MSE Lemma 1 decomposes. Kinds start with DIAGNOSIS_KINDS.
   * The target of every estimator here is the pool mean of `backprop`.
   */
  readonly raw: PoolMoments;
  /**
   * Unit-normalised per-sample gradients as eq. 3 works with them (g_n and s_n scaled to unit
   * length before inducing parameter gradients; SPEC 4.5). Eq. 3's theta and the grid-best theta
   * are compared here, against the pool mean of `live` (eq. 3's target).
   */
  readonly normalised: PoolMoments;
  readonly layers: readonly DiagnosisLayer[];
  /** The live per-neuron theta of the checkpoint (the recurrent net: its base theta). */
  readonly liveTheta: Float64Array;
  /** Coefficients (over raw.kinds) of the estimator the trainer applies at the current theta. */
  readonly current: Coefficients;
  /** The trainer's batch size (the paper's), always among the reported batch sizes. */
  readonly trainerBatch: number;
  /** What one pool sample is (e.g. "one context, action and reward"; "one episode"). */
  readonly sampleDescription: string;
}
