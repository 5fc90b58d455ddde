/**
 * BP(lambda)'s "replay" implementation of Algorithm 1's per-step update (see `bpLambda.ts`): the
 * update of step t, sum_s mean_n v_s (x) [s_s, 1] with v_{t-1} = delta_t and
 * v_{s-1} = gamma lambda v_s J_s, clipped and added to the sequence's update in step order.
 *
 * The steps' replays are independent (the synthesiser is frozen within a sequence), so they are
 * deferred until the update is read and then run together, newest state first: at state s every
 * step still carrying a vector adds its outer product there, and all of them are multiplied by J_s in
 * one pass (`RowJacobian.timesMany`), so each Jacobian is read once per sequence rather than once
 * per later step. Every number is computed as the step-by-step replay computes it (each step's sums
 * in the same order: states descending, examples ascending), so the results are identical to it.
 */
import { addOuterProducts, type RowJacobian, timesMany } from "./rowJacobian.js";

/** into += step, its norm clipped to maxNorm. */
export function addClipped(into: Float64Array, step: Float64Array, maxNorm: number): void {
  let sq = 0;
  for (let i = 0; i < step.length; i++) sq += (step[i] as number) ** 2;
  const norm = Math.sqrt(sq);
  const scale = norm > maxNorm ? maxNorm / norm : 1;
  for (let i = 0; i < step.length; i++) into[i] = (into[i] as number) + scale * (step[i] as number);
}

export class LambdaReplay {
  /** The states s_0.. of the sequence (copies) and J_0.. (by reference; J_0 unused). */
  private readonly states: Float64Array[] = [];
  private readonly jacobians: (RowJacobian | null)[] = [];
  /** Deferred steps: delta_t (copies) and the index of the state it starts at (t - 1). */
  private readonly deltas: Float64Array[] = [];
  private readonly starts: number[] = [];
  private buffers = {
    theta: new Float64Array(0),
    bias: new Float64Array(0),
    v: new Float64Array(0),
    next: new Float64Array(0),
    d: new Float64Array(0),
  };

  constructor(
    readonly batch: number,
    readonly inputSize: number,
    readonly outputSize: number,
    /** gamma lambda. */
    readonly decay: number,
  ) {}

  get pending(): boolean {
    return this.deltas.length > 0;
  }

  /** Forgets the sequence (call `flush` first to keep its updates). */
  clear(): void {
    this.states.length = 0;
    this.jacobians.length = 0;
    this.deltas.length = 0;
    this.starts.length = 0;
  }

  /** Step t's TD error, replayed from state t - 1 (the last state pushed). */
  pushDelta(delta: Float64Array): void {
    this.deltas.push(Float64Array.from(delta.subarray(0, this.batch * this.outputSize)));
    this.starts.push(this.states.length - 1);
  }

  pushState(state: Float64Array, jacobian: RowJacobian | null): void {
    this.states.push(Float64Array.from(state.subarray(0, this.batch * this.inputSize)));
    this.jacobians.push(jacobian);
  }

  /** Runs the deferred steps and adds their clipped updates to gradTheta / gradBias in step order. */
  flush(gradTheta: Float64Array, gradBias: Float64Array, clipNorm: number): void {
    const P = this.deltas.length;
    if (P === 0) return;
    const { batch: B, inputSize: I, outputSize: O, decay } = this;
    const BO = B * O;
    const buf = this.grow(P, B, O, I);
    const { theta, bias, d } = buf;
    theta.fill(0, 0, P * O * I);
    bias.fill(0, 0, P * O);
    let v = buf.v;
    let next = buf.next;
    const owner = new Int32Array(P);
    let count = 0;
    let waiting = P - 1;
    for (let s = this.starts[P - 1] as number; s >= 0; s--) {
      while (waiting >= 0 && this.starts[waiting] === s) {
        v.set(this.deltas[waiting] as Float64Array, count * BO);
        owner[count++] = waiting--;
      }
      if (count === 0) continue;
      const x = this.states[s] as Float64Array;
      let kept = 0;
      for (let c = 0; c < count; c++) {
        const p = owner[c] as number;
        const vo = c * BO;
        let any = false;
        const bo = p * O;
        for (let n = 0; n < B; n++) {
          const r = vo + n * O;
          for (let k = 0; k < O; k++) {
            const dk = (v[r + k] as number) / B;
            d[r + k] = dk;
            if (dk !== 0) {
              any = true;
              bias[bo + k] = (bias[bo + k] as number) + dk;
            }
          }
        }
        addOuterProducts(theta, p * O * I, d, vo, x, B, O, I);
        if (s === 0 || decay === 0 || !any) continue;
        if (kept !== c) {
          v.copyWithin(kept * BO, vo, vo + BO);
          owner[kept] = p;
        }
        kept++;
      }
      count = kept;
      if (count === 0) continue;
      timesMany(this.jacobians[s] as RowJacobian, v, count, BO, next);
      for (let i = 0; i < count * BO; i++) next[i] = (next[i] as number) * decay;
      [v, next] = [next, v];
    }
    for (let p = 0; p < P; p++) {
      addClipped(gradTheta, theta.subarray(p * O * I, (p + 1) * O * I), clipNorm);
      addClipped(gradBias, bias.subarray(p * O, (p + 1) * O), clipNorm);
    }
    this.deltas.length = 0;
    this.starts.length = 0;
  }

  private grow(P: number, B: number, O: number, I: number) {
    const b = this.buffers;
    if (b.theta.length < P * O * I) b.theta = new Float64Array(P * O * I);
    if (b.bias.length < P * O) b.bias = new Float64Array(P * O);
    if (b.v.length < P * B * O) {
      b.v = new Float64Array(P * B * O);
      b.next = new Float64Array(P * B * O);
      b.d = new Float64Array(P * B * O);
    }
    return b;
  }
}
