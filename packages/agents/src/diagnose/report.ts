/**
 * The diagnosis report (issue 19), written once for every model: from any {@link DiagnosisMoments}
 * (the bandit's feed-forward SparseNet, the recurrent POPGym one), per batch size, per neuron,
 * per layer and for the whole net, the MSE of four gradient estimators split as Lemma 1 does into
 * variance and squared bias, in the two spaces of types.ts; eq. 3's theta against the grid-best
 * theta per neuron; and the check that the population estimate (the target) is precise enough.
 *
 * Every number is the exact expectation over independent batches of n samples from the pool's
 * population (estimatorErrors.ts: closed forms of the pool moments), so no batch is resampled and
 * the figures carry no resampling noise; the target's own sampling noise is reported and removed
 * from the squared bias.
 */
import {
  bestThetaOnGrid,
  type Coefficients,
  type EstimatorTarget,
  eq3ThetaFromPool,
  estimatorError,
  mixtureCoefficients,
  sumUnits,
  targetVariance,
  thetaGrid,
} from "./estimatorErrors.js";
import { kindIndex, type PoolMoments } from "./poolMoments.js";
import type { DiagnosisMoments } from "./types.js";

/** The estimators of the report, in display order. */
export const DIAGNOSIS_ESTIMATORS = ["backprop", "synthetic", "current", "best"] as const;
export type DiagnosisEstimator = (typeof DIAGNOSIS_ESTIMATORS)[number];

/** The two spaces (types.ts): raw parameter gradients, and eq. 3's unit-normalised ones. */
export const DIAGNOSIS_SPACES = ["raw", "normalised"] as const;
export type DiagnosisSpace = (typeof DIAGNOSIS_SPACES)[number];

/** What each estimator and space means, for the report's readers (csv/json/figures). */
export const DIAGNOSIS_LABELS = {
  estimators: {
    backprop: "backprop: the true gradient (theta = 1 everywhere)",
    synthetic: "synthetic: the neuron's substitute s alone (theta = 0)",
    current:
      "current theta: the gradient the trainer applies (where a space lacks its kind, e.g. the recurrent net's normalised space, the mixture at the live theta)",
    best: "best theta: the mixture at the grid theta of least MSE, per neuron",
  },
  spaces: {
    raw: "raw parameter gradients; target: the pool mean of the true (backprop) gradient",
    normalised:
      "unit-normalised per-sample gradients (eq. 3's space); target: the pool mean of the live received gradient (eq. 3's)",
  },
} as const;

/** One estimator's error at one batch size, for a neuron, a layer (units summed) or the net. */
export interface DiagnosisRow {
  readonly space: DiagnosisSpace;
  readonly estimator: DiagnosisEstimator;
  readonly batch: number;
  /** A layer name, or "net" for every unit. */
  readonly layer: string;
  /** The unit (neuron) index, or -1 for a layer's or the net's total. */
  readonly unit: number;
  /** The estimator's theta (its mean over the units of a layer or the net); NaN for backprop. */
  readonly theta: number;
  readonly mse: number;
  readonly variance: number;
  readonly bias2: number;
}

/** Per neuron at the trainer's batch, in the normalised space: the thetas the issue compares. */
export interface DiagnosisTheta {
  readonly unit: number;
  readonly layer: string;
  /** The trainer's theta (its moving average of eq. 3's batch estimates). */
  readonly live: number;
  /** Eq. 3 with the pool's moments in place of one batch's (its population limit). */
  readonly eq3: number;
  /** The grid theta of least MSE. */
  readonly best: number;
}

/** Whether the target's sampling variance is small against the errors it is compared with. */
export interface TargetCheck {
  readonly space: DiagnosisSpace;
  readonly layer: string;
  /** Sampling variance of the pool's estimate of the target (summed over the layer's units). */
  readonly targetVariance: number;
  /** Its square root: the target's standard error (in norm). */
  readonly standardError: number;
  /** The smallest MSE the report gives for this layer (any estimator, any batch size). */
  readonly smallestMse: number;
  readonly ratio: number;
  /** ratio < 0.1 (the "small"). */
  readonly ok: boolean;
  /** The pool size that would bring the ratio to 0.1 (the variance falls as 1 / pool). */
  readonly poolNeeded: number;
}

export interface DiagnosisReport {
  readonly pool: number;
  readonly trainerBatch: number;
  readonly batchSizes: readonly number[];
  readonly sampleDescription: string;
  /** Layer and net rows (small). */
  readonly rows: DiagnosisRow[];
  /** One row per neuron, estimator, batch size and space (large: for csv files). */
  readonly neuronRows: DiagnosisRow[];
  readonly thetas: DiagnosisTheta[];
  readonly targetChecks: TargetCheck[];
  readonly method: string;
}

export interface DiagnosisReportOptions {
  /** Batch sizes to report (the trainer's is added). Default 8, 16, ..., 512. */
  readonly batchSizes?: readonly number[];
  /** Theta grid of the best mixture (default 0, 0.01, ..., 1). */
  readonly grid?: readonly number[];
  /** Also produce the per-neuron rows (default true). */
  readonly neuronRows?: boolean;
}

/** The default sweep: 8..512 in powers of two. */
export const DEFAULT_DIAGNOSIS_BATCH_SIZES: readonly number[] = [8, 16, 32, 64, 128, 256, 512];

export const DIAGNOSIS_METHOD =
  "MSE, variance and squared bias are exact expectations over independent batches of n samples from " +
  "the population the pool was drawn from, computed in closed form from the pool's per-sample gradient " +
  "moments (no batch is resampled, so there is no resampling noise); the squared bias has the target's " +
  "own sampling variance subtracted (Lemma 1's split).";

function coefficientsFor(m: PoolMoments, weights: Readonly<Record<string, number>>): number[] {
  const c = new Array<number>(m.kinds.length).fill(0);
  for (const [name, w] of Object.entries(weights)) c[kindIndex(m, name)] = w;
  return c;
}

function meanOf(values: ArrayLike<number>, from: number, to: number): number {
  return to > from ? sumUnits(values, from, to) / (to - from) : Number.NaN;
}

interface SpaceSetup {
  readonly space: DiagnosisSpace;
  readonly m: PoolMoments;
  readonly target: EstimatorTarget;
  readonly live: number;
  readonly synthetic: number;
  readonly fixed: Readonly<Record<"backprop" | "synthetic" | "current", Coefficients>>;
}

/**
 * The current estimator's coefficients over the kinds of `m` (d.current is over raw.kinds). A
 * space without a kind the current estimator uses (the recurrent net's normalised space has no
 * `applied`) gets the mixture at the live theta of live and synthetic: eq. 3's model of the mix.
 */
function currentIn(d: DiagnosisMoments, m: PoolMoments, live: number, synthetic: number): Coefficients {
  const c: (number | ArrayLike<number>)[] = new Array(m.kinds.length).fill(0);
  for (let k = 0; k < d.raw.kinds.length; k++) {
    const coefficient = d.current[k] ?? 0;
    const j = m.kinds.indexOf(d.raw.kinds[k] as string);
    if (j >= 0) c[j] = coefficient;
    else if (typeof coefficient !== "number" || coefficient !== 0)
      return mixtureCoefficients(m.kinds.length, live, synthetic, d.liveTheta);
  }
  return c;
}

function setups(d: DiagnosisMoments): SpaceSetup[] {
  return DIAGNOSIS_SPACES.map((space) => {
    const m = d[space];
    const live = kindIndex(m, "live");
    const synthetic = kindIndex(m, "synthetic");
    return {
      space,
      m,
      target: {
        kind: "pool",
        coefficients: coefficientsFor(m, space === "raw" ? { backprop: 1 } : { live: 1 }),
      },
      live,
      synthetic,
      fixed: {
        backprop: coefficientsFor(m, { backprop: 1 }),
        synthetic: coefficientsFor(m, { synthetic: 1 }),
        current: currentIn(d, m, live, synthetic),
      },
    };
  });
}

/** The report of a diagnosis at the given batch sizes. */
export function diagnosisReport(d: DiagnosisMoments, o: DiagnosisReportOptions = {}): DiagnosisReport {
  const batchSizes = [...new Set([...(o.batchSizes ?? DEFAULT_DIAGNOSIS_BATCH_SIZES), d.trainerBatch])].sort(
    (a, b) => a - b,
  );
  const grid = o.grid ?? thetaGrid();
  const wantNeurons = o.neuronRows ?? true;
  const scopes = [...d.layers, { name: "net", from: 0, to: d.raw.units }];
  const rows: DiagnosisRow[] = [];
  const neuronRows: DiagnosisRow[] = [];
  const layerOf = new Array<string>(d.raw.units).fill("");
  for (const layer of d.layers) for (let i = layer.from; i < layer.to; i++) layerOf[i] = layer.name;
  const currentTheta = d.liveTheta;
  for (const s of setups(d)) {
    for (const batch of batchSizes) {
      const best = bestThetaOnGrid(s.m, s.live, s.synthetic, batch, s.target, grid);
      for (const estimator of DIAGNOSIS_ESTIMATORS) {
        const c =
          estimator === "best"
            ? mixtureCoefficients(s.m.kinds.length, s.live, s.synthetic, best.theta)
            : s.fixed[estimator];
        const e = estimatorError(s.m, c, batch, s.target);
        const theta = estimator === "best" ? best.theta : estimator === "current" ? currentTheta : undefined;
        const thetaValue = (from: number, to: number) =>
          estimator === "synthetic" ? 0 : theta === undefined ? Number.NaN : meanOf(theta, from, to);
        for (const scope of scopes) {
          rows.push({
            space: s.space,
            estimator,
            batch,
            layer: scope.name,
            unit: -1,
            theta: thetaValue(scope.from, scope.to),
            mse: sumUnits(e.mse, scope.from, scope.to),
            variance: sumUnits(e.variance, scope.from, scope.to),
            bias2: sumUnits(e.bias2, scope.from, scope.to),
          });
        }
        if (!wantNeurons) continue;
        for (let i = 0; i < s.m.units; i++) {
          neuronRows.push({
            space: s.space,
            estimator,
            batch,
            layer: layerOf[i] as string,
            unit: i,
            theta: thetaValue(i, i + 1),
            mse: e.mse[i] as number,
            variance: e.variance[i] as number,
            bias2: e.bias2[i] as number,
          });
        }
      }
    }
  }
  const norm = setups(d)[1] as SpaceSetup;
  const eq3 = eq3ThetaFromPool(norm.m, norm.live, norm.synthetic, d.trainerBatch, d.liveTheta);
  const bestNorm = bestThetaOnGrid(norm.m, norm.live, norm.synthetic, d.trainerBatch, norm.target, grid);
  const thetas = Array.from({ length: d.raw.units }, (_, i) => ({
    unit: i,
    layer: layerOf[i] as string,
    live: d.liveTheta[i] as number,
    eq3: eq3[i] as number,
    best: bestNorm.theta[i] as number,
  }));
  return {
    pool: d.raw.samples,
    trainerBatch: d.trainerBatch,
    batchSizes,
    sampleDescription: d.sampleDescription,
    rows,
    neuronRows,
    thetas,
    targetChecks: targetChecks(d, rows, scopes),
    method: DIAGNOSIS_METHOD,
  };
}

function targetChecks(
  d: DiagnosisMoments,
  rows: readonly DiagnosisRow[],
  scopes: readonly { name: string; from: number; to: number }[],
): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const s of setups(d)) {
    const tv = targetVariance(s.m, s.target);
    for (const scope of scopes) {
      const variance = sumUnits(tv, scope.from, scope.to);
      const smallest = Math.min(
        ...rows.filter((r) => r.space === s.space && r.layer === scope.name).map((r) => r.mse),
      );
      const ratio = variance === 0 ? 0 : variance / smallest;
      out.push({
        space: s.space,
        layer: scope.name,
        targetVariance: variance,
        standardError: Math.sqrt(variance),
        smallestMse: smallest,
        ratio,
        ok: ratio < 0.1,
        poolNeeded: Number.isFinite(ratio)
          ? Math.ceil((s.m.samples * ratio) / 0.1)
          : Number.POSITIVE_INFINITY,
      });
    }
  }
  return out;
}

/** A layer's or the net's row of a report (throws when absent, so a typo cannot read nothing). */
export function reportRow(
  r: Pick<DiagnosisReport, "rows">,
  space: DiagnosisSpace,
  estimator: DiagnosisEstimator,
  batch: number,
  layer = "net",
): DiagnosisRow {
  const row = r.rows.find(
    (x) => x.space === space && x.estimator === estimator && x.batch === batch && x.layer === layer,
  );
  if (row === undefined) throw new Error(`no ${space} ${estimator} row at batch ${batch} for ${layer}`);
  return row;
}

/**
 * The columns `--during-training` adds to metrics.csv: the whole net at the trainer's batch, raw
 * space (MSE of each estimator; the current theta's split), and the mean eq. 3 and best theta of
 * the normalised space.
 */
export function duringTrainingColumns(r: DiagnosisReport): Record<string, number> {
  const n = r.trainerBatch;
  const cols: Record<string, number> = {};
  for (const e of DIAGNOSIS_ESTIMATORS) cols[`diagnose/mse_${e}`] = reportRow(r, "raw", e, n).mse;
  const current = reportRow(r, "raw", "current", n);
  cols["diagnose/variance_current"] = current.variance;
  cols["diagnose/bias2_current"] = current.bias2;
  cols["diagnose/bias2_synthetic"] = reportRow(r, "raw", "synthetic", n).bias2;
  const mean = (f: (t: DiagnosisTheta) => number) => r.thetas.reduce((s, t) => s + f(t), 0) / r.thetas.length;
  cols["diagnose/theta_eq3_mean"] = mean((t) => t.eq3);
  cols["diagnose/theta_best_mean"] = mean((t) => t.best);
  const net = r.targetChecks.find((c) => c.space === "raw" && c.layer === "net");
  cols["diagnose/target_variance_ratio"] = net?.ratio ?? Number.NaN;
  return cols;
}
