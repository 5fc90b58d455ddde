/**
 * BP(lambda) targets for the recurrent SparseNet's synthetic-gradient predictors (issue 21, item 5):
 * instead of regressing on the mixed gradient gtilde_t of the policy's backward pass (the paper's
 * rule, SPEC 4.4), sgA/sgB regress on eq. 11's lambda-return of the gradient at H_t. The rule is
 * `stateGradientLambdaSchedule` of sg/bpLambda.ts; this file only runs it on the core's kernels.
 */
import { stateGradientLambdaSchedule } from "../sg/bpLambda.js";
import { backwardParallel } from "./corePool.js";
import type { CoreMaps, CoreSizes, CoreTrace } from "./sparseCore.js";

/** How the SG predictors learn: the paper's gtilde, or BP(lambda)'s target with trace decay `lambda`. */
export type SgRule = "gtilde" | "bp-lambda";

/**
 * Z_t for every row [R][W][q]: a second backward pass through the rollout that mixes lambda Z + (1 -
 * lambda) p at every H_t (weight 1 at the last step), with the predictions of invalid rows (after an
 * episode's end) zeroed, so nothing is bootstrapped past the end. gamma is 1: the policy's loss is
 * already a sum over steps of discounted-return terms, the gradient needs no further discount.
 */
export function bpLambdaStateTargets(
  s: CoreSizes,
  maps: CoreMaps,
  trace: CoreTrace,
  dActor: Float32Array,
  keep: Float32Array,
  numSteps: number,
  numEnvs: number,
  pred: Float32Array,
  valid: ArrayLike<number>,
  lambda: number,
): Float32Array {
  const stride = s.W * s.q;
  const masked = Float32Array.from(pred);
  for (let r = 0; r < numSteps * numEnvs; r++) if (!valid[r]) masked.fill(0, r * stride, (r + 1) * stride);
  const theta = stateGradientLambdaSchedule(numSteps, s.W, { lambda, gamma: 1 });
  return backwardParallel(s, maps, trace, dActor, keep, numSteps, numEnvs, {
    theta,
    positiveProjection: false,
    pred: masked,
  }).trueGrad;
}
