import { RecurrentConfigError } from "../recurrent/params.js";

/** The paper's rate of the temporal theta schedule. */
export const THETA_SCHEDULE_RHO = 0.1;

/**
 * Children lists in compressed form: `children(i)` are the neurons whose parent list contains i,
 * once per occurrence (counted with multiplicity, SPEC 4.4).
 */
export interface ChildrenGraph {
  readonly width: number;
  /** children of i are `index[offset[i] .. offset[i+1])`. */
  readonly offset: Int32Array;
  readonly index: Int32Array;
}

/** Builds the children graph from `parentIdx` [W, P] (row-major). */
export function childrenGraph(parentIdx: ArrayLike<number>, width: number): ChildrenGraph {
  if (parentIdx.length % width !== 0) {
    throw new RecurrentConfigError(
      `parentIdx has ${parentIdx.length} entries, not a multiple of width ${width}`,
    );
  }
  const numParents = parentIdx.length / width;
  const count = new Int32Array(width + 1);
  for (let k = 0; k < parentIdx.length; k++) {
    const p = parentIdx[k] as number;
    if (!Number.isInteger(p) || p < 0 || p >= width) {
      throw new RecurrentConfigError(`parentIdx[${k}] = ${p} is not a neuron index in 0..${width - 1}`);
    }
    count[p + 1] = (count[p + 1] as number) + 1;
  }
  const offset = new Int32Array(width + 1);
  for (let i = 0; i < width; i++) offset[i + 1] = (offset[i] as number) + (count[i + 1] as number);
  const fill = offset.slice(0, width);
  const index = new Int32Array(parentIdx.length);
  for (let child = 0; child < width; child++) {
    for (let p = 0; p < numParents; p++) {
      const parent = parentIdx[child * numParents + p] as number;
      index[fill[parent] as number] = child;
      fill[parent] = (fill[parent] as number) + 1;
    }
  }
  return { width, offset, index };
}

/**
 * The temporal mixing schedule (SPEC 4.4): the last step uses the base theta; going backwards,
 * theta_t[i] = min(1, theta_{t+1}[i] + rho * mean_{j in children(i)} (1 - theta_{t+1}[j])),
 * a neuron without children keeping theta_{t+1}[i]. Earlier steps lean more on the true gradient.
 * Returns [T, W] row-major in float64.
 */
export function temporalThetaSchedule(
  thetaBase: ArrayLike<number>,
  graph: ChildrenGraph,
  numSteps: number,
  rho = THETA_SCHEDULE_RHO,
): Float64Array {
  const w = graph.width;
  if (thetaBase.length !== w) {
    throw new RecurrentConfigError(`thetaBase has ${thetaBase.length} entries, expected width ${w}`);
  }
  if (!Number.isSafeInteger(numSteps) || numSteps < 1) {
    throw new RecurrentConfigError(`numSteps must be a positive integer, got ${numSteps}`);
  }
  const out = new Float64Array(numSteps * w);
  for (let i = 0; i < w; i++) out[(numSteps - 1) * w + i] = thetaBase[i] as number;
  for (let t = numSteps - 2; t >= 0; t--) {
    const next = (t + 1) * w;
    for (let i = 0; i < w; i++) {
      const from = graph.offset[i] as number;
      const to = graph.offset[i + 1] as number;
      let deficit = 0;
      if (to > from) {
        let sum = 0;
        for (let k = from; k < to; k++) sum += 1 - (out[next + (graph.index[k] as number)] as number);
        deficit = sum / (to - from);
      }
      out[t * w + i] = Math.min(1, (out[next + i] as number) + rho * deficit);
    }
  }
  return out;
}
