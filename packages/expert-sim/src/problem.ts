import type { Rng } from "@sgprop/gym";
import { ExpertSimConfigError, requireInteger } from "./errors.js";

/**
 * The largest input dimension we accept: the problem stores one d x d Jacobian per partition
 * (2^d * d^2 doubles, 134 MB at d = 16), so larger d would exhaust memory before it said anything.
 */
export const MAX_DIMENSION = 16;

/**
 * One draw of the finite-partition expert network of Appendix H.1.
 *
 * The input space is cut into R = 2^d blocks, each represented by a vertex x_r of {-1, +1}^d
 * (coordinate i of x_r is +1 exactly when bit i of r is set). Block r owns parameters theta_r in
 * R^d that enter through a linear local map h_r(theta_r) = x_r + J_r theta_r; the entries of J_r
 * are N(0, 1/d). Expert j reads the k coordinates S_j of h (a uniformly random k-subset) and
 * outputs y_j = a_j . h[S_j] + b_j; its target is the linear label t_j = beta_j . x_r[S_j] + gamma_j
 * and its loss is (y_j - t_j)^2 / 2, so the clean feedback dL/dy_j at block r is
 * y_j(x_r) - t_j(x_r).
 *
 * All arrays are row-major typed arrays so the sweep never allocates per state.
 */
export interface ExpertProblem {
  readonly d: number;
  readonly k: number;
  readonly m: number;
  /** Number of partitions, 2^d. */
  readonly partitions: number;
  /** [R, d] partition representatives, entries +-1. */
  readonly nodes: Float64Array;
  /** [R, d, d] local-map Jacobians; entry (r, i, l) = d h_r[i] / d theta_r[l]. */
  readonly jacobians: Float64Array;
  /** [m, k] the coordinates each expert observes, in draw order. */
  readonly expertCoords: Int32Array;
  /** [m, k] expert weights a_j, N(0, 1/k). */
  readonly expertWeights: Float64Array;
  /** [m] expert biases b_j, N(0, 0.01). */
  readonly expertBiases: Float64Array;
  /** [m, k] target weights beta_j, N(0, 1/k). */
  readonly targetWeights: Float64Array;
  /** [m] target biases gamma_j, N(0, 0.01). */
  readonly targetBiases: Float64Array;
  /** [m] how strongly the hidden variable of the partial-observation case moves each expert's feedback, N(0, 1). */
  readonly partialLoadings: Float64Array;
}

export interface ProblemShape {
  /** Input dimension; the network has 2^d partitions. */
  readonly d: number;
  /** Coordinates each expert observes (k <= d). */
  readonly k: number;
  /** Number of experts. */
  readonly m: number;
}

export function validateShape({ d, k, m }: ProblemShape): void {
  requireInteger("d", d, 1, MAX_DIMENSION);
  requireInteger("k", k, 1);
  if (k > d) throw new ExpertSimConfigError("k", k, `must not exceed d = ${d}`);
  requireInteger("m", m, 1);
}

/** The 2^d vertices of {-1, +1}^d, row r having +1 at coordinate i when bit i of r is set. */
export function hypercubeVertices(d: number): Float64Array {
  const count = 2 ** d;
  const out = new Float64Array(count * d);
  for (let r = 0; r < count; r++) {
    for (let i = 0; i < d; i++) out[r * d + i] = (r >>> i) & 1 ? 1 : -1;
  }
  return out;
}

/**
 * Draws a problem. The draw order (Jacobians, expert coordinates, a, b, beta, gamma, loadings) is
 * part of the seeding contract: the same Rng state always yields the same problem.
 */
export function createProblem(shape: ProblemShape, rng: Rng): ExpertProblem {
  validateShape(shape);
  const { d, k, m } = shape;
  const partitions = 2 ** d;
  const jacobians = new Float64Array(partitions * d * d);
  const jacobianStd = 1 / Math.sqrt(d);
  for (let i = 0; i < jacobians.length; i++) jacobians[i] = rng.normal(0, jacobianStd);

  const expertCoords = new Int32Array(m * k);
  for (let j = 0; j < m; j++) expertCoords.set(rng.sampleWithoutReplacement(d, k), j * k);

  const weightStd = 1 / Math.sqrt(k);
  const normals = (count: number, std: number) => {
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = rng.normal(0, std);
    return out;
  };
  const expertWeights = normals(m * k, weightStd);
  const expertBiases = normals(m, 0.1);
  const targetWeights = normals(m * k, weightStd);
  const targetBiases = normals(m, 0.1);
  const partialLoadings = normals(m, 1);

  return {
    d,
    k,
    m,
    partitions,
    nodes: hypercubeVertices(d),
    jacobians,
    expertCoords,
    expertWeights,
    expertBiases,
    targetWeights,
    targetBiases,
    partialLoadings,
  };
}

/** [R, m] clean feedback y_j(x_r) - t_j(x_r) of every expert at every partition. */
export function cleanFeedback(problem: ExpertProblem): Float64Array {
  const { d, k, m, partitions, nodes, expertCoords, expertWeights, expertBiases } = problem;
  const out = new Float64Array(partitions * m);
  for (let r = 0; r < partitions; r++) {
    for (let j = 0; j < m; j++) {
      let residual = expertBiases[j]! - problem.targetBiases[j]!;
      for (let t = 0; t < k; t++) {
        const x = nodes[r * d + expertCoords[j * k + t]!]!;
        residual += (expertWeights[j * k + t]! - problem.targetWeights[j * k + t]!) * x;
      }
      out[r * m + j] = residual;
    }
  }
  return out;
}

/**
 * [R, m] the synthetic-gradient table key of each expert at each partition: the expert's projected
 * input x_r[S_j] read as k bits (bit t set when coordinate S_j[t] is +1), so 2^k keys per expert.
 */
export function tableKeys(problem: ExpertProblem): Int32Array {
  const { d, k, m, partitions, nodes, expertCoords } = problem;
  const out = new Int32Array(partitions * m);
  for (let r = 0; r < partitions; r++) {
    for (let j = 0; j < m; j++) {
      let key = 0;
      for (let t = 0; t < k; t++) if (nodes[r * d + expertCoords[j * k + t]!]! > 0) key |= 1 << t;
      out[r * m + j] = key;
    }
  }
  return out;
}
