import { requireLength } from "./errors.js";
import type { ExpertProblem } from "./problem.js";

/**
 * The population objective at block parameters theta ([R, d], all zeros = the operating point):
 *   L(theta) = (1/R) sum_r sum_j (a_j . h_r(theta_r)[S_j] + b_j - t_j(x_r))^2 / 2,
 * with h_r(theta_r) = x_r + J_r theta_r. Targets are labels of the partition, so they do not
 * move with theta. Every partition has probability 1/R.
 */
export function populationLoss(problem: ExpertProblem, theta: Float64Array): number {
  const { d, k, m, partitions, nodes, jacobians, expertCoords, expertWeights, expertBiases } = problem;
  requireLength("theta", theta.length, partitions * d, "partitions x d");
  const h = new Float64Array(d);
  let total = 0;
  for (let r = 0; r < partitions; r++) {
    for (let i = 0; i < d; i++) {
      let v = nodes[r * d + i]!;
      for (let l = 0; l < d; l++) v += jacobians[(r * d + i) * d + l]! * theta[r * d + l]!;
      h[i] = v;
    }
    for (let j = 0; j < m; j++) {
      let y = expertBiases[j]!;
      let t = problem.targetBiases[j]!;
      for (let s = 0; s < k; s++) {
        const c = expertCoords[j * k + s]!;
        y += expertWeights[j * k + s]! * h[c]!;
        t += problem.targetWeights[j * k + s]! * nodes[r * d + c]!;
      }
      total += 0.5 * (y - t) ** 2;
    }
  }
  return total / partitions;
}

/**
 * The gradient of the population objective with respect to theta ([R, d]) when the feedback
 * dL/dy_j at partition r is `feedback[r, j]`:
 *   g_r = (1/R) J_r^T sum_j feedback[r, j] P_j^T a_j,
 * where P_j^T scatters a k-vector onto the coordinates S_j. With the clean feedback this is the
 * exact population gradient; with estimated feedback it is the corresponding gradient estimate.
 */
export function populationGradient(problem: ExpertProblem, feedback: Float64Array): Float64Array {
  const { d, k, m, partitions, jacobians, expertCoords, expertWeights } = problem;
  requireLength("feedback", feedback.length, partitions * m, "partitions x experts");
  const out = new Float64Array(partitions * d);
  const nodeGrad = new Float64Array(d);
  for (let r = 0; r < partitions; r++) {
    nodeGrad.fill(0);
    for (let j = 0; j < m; j++) {
      const f = feedback[r * m + j]!;
      for (let s = 0; s < k; s++) nodeGrad[expertCoords[j * k + s]!]! += f * expertWeights[j * k + s]!;
    }
    for (let i = 0; i < d; i++) {
      const gi = nodeGrad[i]! / partitions;
      if (gi === 0) continue;
      const row = (r * d + i) * d;
      for (let l = 0; l < d; l++) out[r * d + l]! += gi * jacobians[row + l]!;
    }
  }
  return out;
}

/**
 * [R, m, m] per-partition Gram matrices G_r = V_r V_r^T / R^2, where row j of V_r is
 * J_r^T P_j^T a_j (how a unit of feedback on expert j moves g_r). Because every estimator here
 * only changes the feedback, its squared gradient error is sum_r e_r^T G_r e_r with e the feedback
 * error: m^2 work per partition instead of d^2, which is what keeps the d = 12 sweep fast.
 */
export function feedbackGram(problem: ExpertProblem): Float64Array {
  const { d, k, m, partitions, jacobians, expertCoords, expertWeights } = problem;
  const gram = new Float64Array(partitions * m * m);
  const v = new Float64Array(m * d);
  const scale = 1 / (partitions * partitions);
  for (let r = 0; r < partitions; r++) {
    v.fill(0);
    for (let j = 0; j < m; j++) {
      for (let s = 0; s < k; s++) {
        const row = (r * d + expertCoords[j * k + s]!) * d;
        const a = expertWeights[j * k + s]!;
        for (let l = 0; l < d; l++) v[j * d + l]! += a * jacobians[row + l]!;
      }
    }
    for (let j = 0; j < m; j++) {
      for (let q = j; q < m; q++) {
        let dot = 0;
        for (let l = 0; l < d; l++) dot += v[j * d + l]! * v[q * d + l]!;
        gram[(r * m + j) * m + q] = dot * scale;
        gram[(r * m + q) * m + j] = dot * scale;
      }
    }
  }
  return gram;
}

/** ||g(estimate) - g(clean)||^2 from the feedback error e = estimate - clean ([R, m]) and {@link feedbackGram}. */
export function squaredGradientError(gram: Float64Array, feedbackError: Float64Array, m: number): number {
  const partitions = Math.floor(feedbackError.length / m);
  requireLength("feedbackError", feedbackError.length, partitions * m, `a multiple of m = ${m}`);
  requireLength("gram", gram.length, partitions * m * m, "partitions x m x m");
  let total = 0;
  for (let r = 0; r < partitions; r++) {
    const base = r * m;
    for (let j = 0; j < m; j++) {
      const ej = feedbackError[base + j]!;
      if (ej === 0) continue;
      const row = (base + j) * m;
      let acc = 0;
      for (let q = 0; q < m; q++) acc += gram[row + q]! * feedbackError[base + q]!;
      total += ej * acc;
    }
  }
  return total;
}
