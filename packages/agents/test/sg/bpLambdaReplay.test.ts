import { Rng } from "@sgprop/gym";
import { describe, expect, it } from "vitest";
import {
  BpLambdaLearner,
  DenseRowJacobian,
  LinearSynthesiser,
  type RowJacobian,
  rowTimesJacobian,
} from "../../src/sg/bpLambda.js";

/** The plain loop the fast kernels must reproduce bit for bit: y[n, j] += x[n, i] J[n, i, j], i ascending. */
function plainRowTimesJacobian(x: Float64Array, jac: Float64Array, B: number, O: number): Float64Array {
  const out = new Float64Array(B * O);
  for (let n = 0; n < B; n++)
    for (let i = 0; i < O; i++) {
      const xi = x[n * O + i] as number;
      if (xi === 0) continue;
      for (let j = 0; j < O; j++)
        out[n * O + j] = (out[n * O + j] as number) + xi * (jac[n * O * O + i * O + j] as number);
    }
  return out;
}

/** Random values with about a third exact zeros (the kernels skip and block zero factors). */
function sparse(rng: Rng, length: number): Float64Array {
  return Float64Array.from({ length }, () => (rng.float() < 0.3 ? 0 : rng.normal()));
}

/** The step-by-step replay (Algorithm 1's update per step, carried back through the Jacobians). */
function plainReplay(
  synth: LinearSynthesiser,
  states: Float64Array[],
  jacobians: Float64Array[],
  immediate: (Float64Array | null)[],
  B: number,
  lambda: number,
  gamma: number,
  clip: number,
) {
  const S = synth.inputSize;
  const theta = new Float64Array(S * S);
  const bias = new Float64Array(S);
  const T = states.length;
  const preds = states.map((s, t) => (t === T - 1 ? new Float64Array(B * S) : synth.predict(s, B)));
  const addClipped = (into: Float64Array, step: Float64Array) => {
    let sq = 0;
    for (const v of step) sq += v ** 2;
    const scale = Math.sqrt(sq) > clip ? clip / Math.sqrt(sq) : 1;
    for (let i = 0; i < step.length; i++) into[i] = (into[i] as number) + scale * (step[i] as number);
  };
  for (let t = 1; t < T; t++) {
    const l = immediate[t];
    const carried = (preds[t] as Float64Array).map((p, i) => (l ? (l[i] as number) : 0) + gamma * p);
    let v = plainRowTimesJacobian(carried, jacobians[t] as Float64Array, B, S).map(
      (d, i) => d - ((preds[t - 1] as Float64Array)[i] as number),
    );
    const stepTheta = new Float64Array(S * S);
    const stepBias = new Float64Array(S);
    for (let s = t - 1; s >= 0; s--) {
      let any = false;
      for (let n = 0; n < B; n++)
        for (let k = 0; k < S; k++) {
          const d = (v[n * S + k] as number) / B;
          if (d === 0) continue;
          any = true;
          stepBias[k] = (stepBias[k] as number) + d;
          for (let m = 0; m < S; m++)
            stepTheta[k * S + m] =
              (stepTheta[k * S + m] as number) + d * ((states[s] as Float64Array)[n * S + m] as number);
        }
      if (s === 0 || lambda * gamma === 0 || !any) break;
      v = plainRowTimesJacobian(v, jacobians[s] as Float64Array, B, S).map((x) => x * gamma * lambda);
    }
    addClipped(theta, stepTheta);
    addClipped(bias, stepBias);
  }
  return { theta, bias };
}

describe("BP(lambda)'s fast replay reproduces the plain loops bit for bit", () => {
  it("rowTimesJacobian and timesMany equal the plain vector-Jacobian loop exactly", () => {
    const rng = Rng.derive(1, "agents-test/row-jacobian");
    for (const [B, O] of [
      [3, 7],
      [2, 9],
      [5, 4],
    ] as const) {
      const jac = sparse(rng, B * O * O);
      const dense = new DenseRowJacobian(jac, B, O);
      for (const count of [1, 2, 3, 5]) {
        const x = sparse(rng, count * B * O);
        const many = dense.timesMany(x, count, new Float64Array(count * B * O));
        for (let v = 0; v < count; v++) {
          const xv = x.subarray(v * B * O, (v + 1) * B * O);
          const plain = plainRowTimesJacobian(xv, jac, B, O);
          expect(Array.from(many.subarray(v * B * O, (v + 1) * B * O))).toEqual(Array.from(plain));
          expect(Array.from(rowTimesJacobian(xv, jac, B, O, new Float64Array(B * O)))).toEqual(
            Array.from(plain),
          );
        }
      }
    }
  });

  it("predict equals the plain affine loop exactly", () => {
    const rng = Rng.derive(3, "agents-test/predict");
    for (const [B, I, O] of [
      [3, 7, 5],
      [4, 6, 8],
    ] as const) {
      const synth = new LinearSynthesiser(I, O);
      synth.theta.set(sparse(rng, O * I));
      synth.bias.set(sparse(rng, O));
      const x = sparse(rng, B * I);
      const plain = new Float64Array(B * O);
      for (let n = 0; n < B; n++)
        for (let k = 0; k < O; k++) {
          let v = synth.bias[k] as number;
          for (let l = 0; l < I; l++) v += (synth.theta[k * I + l] as number) * (x[n * I + l] as number);
          plain[n * O + k] = v;
        }
      expect(Array.from(synth.predict(x, B))).toEqual(Array.from(plain));
    }
  });

  it.each([
    [1, 1, 1],
    [0.5, 0.9, 0.3],
    [0, 0.9, Number.POSITIVE_INFINITY],
  ])(
    "the deferred replay's update equals the step-by-step one exactly (lambda %s, gamma %s, clip %s)",
    (lambda, gamma, clip) => {
      const rng = Rng.derive(2, "agents-test/replay");
      const [B, S, T] = [5, 6, 9];
      const synth = new LinearSynthesiser(S);
      synth.theta.set(Float64Array.from(synth.theta, () => rng.normal(0, 0.4)));
      synth.bias.set(Float64Array.from(synth.bias, () => rng.normal(0, 0.4)));
      const states = Array.from({ length: T }, () => sparse(rng, B * S));
      const jacobians = Array.from({ length: T }, () =>
        Float64Array.from({ length: B * S * S }, () => rng.normal(0, 0.5)),
      );
      const immediate = Array.from({ length: T }, (_, t) => (t % 3 === 2 ? sparse(rng, B * S) : null));
      const expected = plainReplay(synth, states, jacobians, immediate, B, lambda, gamma, clip);
      for (const form of ["dense", "operator"] as const) {
        const learner = new BpLambdaLearner(synth, B, { lambda, gamma, stepClipNorm: clip });
        learner.begin();
        for (let t = 0; t < T; t++) {
          const jac: Float64Array | RowJacobian | null =
            t === 0
              ? null
              : form === "dense"
                ? (jacobians[t] as Float64Array)
                : new DenseRowJacobian(jacobians[t] as Float64Array, B, S);
          learner.step({
            state: states[t] as Float64Array,
            jacobian: jac,
            immediate: immediate[t] ?? null,
            final: t === T - 1,
          });
          // Reading the update mid-sequence runs the deferred steps; the rest are deferred again.
          if (t === 4) expect(learner.gradTheta.some((v) => v !== 0)).toBe(true);
        }
        expect(Array.from(learner.gradTheta)).toEqual(Array.from(expected.theta));
        expect(Array.from(learner.gradBias)).toEqual(Array.from(expected.bias));
      }
    },
  );
});
