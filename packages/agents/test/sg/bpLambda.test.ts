import { Rng } from "@sgprop/gym";
import { describe, expect, it } from "vitest";
import {
  BpLambdaLearner,
  LinearSynthesiser,
  lambdaReturnTargets,
  offlineLambdaUpdate,
  rowTimesJacobian,
} from "../../src/sg/bpLambda.js";

/** A random sequence of a tanh RNN's states with their Jacobians and sparse immediate gradients. */
function sequence(seed: number, B: number, S: number, T: number) {
  const rng = Rng.derive(seed, "agents-test/bp-lambda");
  const W = Float64Array.from({ length: S * S }, () => rng.normal(0, 1.2 / Math.sqrt(S)));
  const states: Float64Array[] = [];
  const jacobians: (Float64Array | null)[] = [];
  const immediate: (Float64Array | null)[] = [];
  let h = new Float64Array(B * S);
  for (let t = 0; t < T; t++) {
    const next = new Float64Array(B * S);
    const jac = new Float64Array(B * S * S);
    for (let n = 0; n < B; n++) {
      for (let i = 0; i < S; i++) {
        let c = rng.normal(0, 0.5);
        for (let j = 0; j < S; j++) c += (W[i * S + j] as number) * (h[n * S + j] as number);
        const y = Math.tanh(c);
        next[n * S + i] = y;
        for (let j = 0; j < S; j++) jac[n * S * S + i * S + j] = (1 - y * y) * (W[i * S + j] as number);
      }
    }
    states.push(next);
    jacobians.push(t === 0 ? null : jac);
    immediate.push(
      t % 2 === 1 || t === T - 1 ? Float64Array.from({ length: B * S }, () => rng.normal()) : null,
    );
    h = next;
  }
  const synth = new LinearSynthesiser(S);
  for (let i = 0; i < synth.theta.length; i++) synth.theta[i] = rng.normal(0, 0.3);
  for (let i = 0; i < synth.bias.length; i++) synth.bias[i] = rng.normal(0, 0.3);
  return { states, jacobians, immediate, synth };
}

function online(
  seq: ReturnType<typeof sequence>,
  B: number,
  lambda: number,
  gamma: number,
  implementation: "traces" | "replay" = "traces",
  stepClipNorm = Number.POSITIVE_INFINITY,
) {
  const learner = new BpLambdaLearner(seq.synth, B, { lambda, gamma, stepClipNorm, implementation });
  learner.begin();
  const predictions: Float64Array[] = [];
  const T = seq.states.length;
  for (let t = 0; t < T; t++) {
    predictions.push(
      learner.step({
        state: seq.states[t] as Float64Array,
        jacobian: seq.jacobians[t] ?? null,
        immediate: seq.immediate[t] ?? null,
        final: t === T - 1,
      }),
    );
  }
  return { learner, predictions };
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

describe("accumulate BP(lambda)", () => {
  const [B, S, T] = [3, 4, 9];

  it.each([0, 0.5, 1])(
    "Theorem: with a frozen synthesiser the traces sum to the offline lambda-return update (lambda %s)",
    (lambda) => {
      for (const [gamma, implementation] of [
        [1, "traces"],
        [0.9, "traces"],
        [1, "replay"],
        [0.9, "replay"],
      ] as const) {
        const seq = sequence(7, B, S, T);
        const { learner, predictions } = online(seq, B, lambda, gamma, implementation);
        const targets = lambdaReturnTargets(predictions, seq.jacobians, seq.immediate, B, S, {
          lambda,
          gamma,
        });
        const offline = offlineLambdaUpdate(seq.synth, seq.states, targets, B);
        const scale = Math.max(...offline.theta.map(Math.abs));
        expect(scale).toBeGreaterThan(0.1);
        expect(maxAbsDiff(learner.gradTheta, offline.theta)).toBeLessThan(1e-6);
        expect(maxAbsDiff(learner.gradBias, offline.bias)).toBeLessThan(1e-6);
      }
    },
  );

  it.each([0, 0.5, 1])(
    "the replay gives the traces' per-step updates, clipping included (lambda %s)",
    (lambda) => {
      const seq = sequence(11, B, S, T);
      for (let i = 0; i < seq.synth.theta.length; i++)
        seq.synth.theta[i] = (seq.synth.theta[i] as number) * 3;
      const traces = online(seq, B, lambda, 0.9, "traces", 1).learner;
      const replay = online(seq, B, lambda, 0.9, "replay", 1).learner;
      expect(maxAbsDiff(traces.gradTheta, replay.gradTheta)).toBeLessThan(1e-9);
      expect(maxAbsDiff(traces.gradBias, replay.gradBias)).toBeLessThan(1e-9);
      expect(Math.hypot(...traces.gradTheta)).toBeGreaterThan(0.5);
    },
  );

  it("lambda = 0 is one-step bootstrapping: targets (l_{t+1} + gamma gHat_{t+1}) J_{t+1}", () => {
    const seq = sequence(3, B, S, T);
    const gamma = 0.9;
    const { learner, predictions } = online(seq, B, 0, gamma);
    const theta = new Float64Array(S * S);
    const bias = new Float64Array(S);
    for (let t = 0; t + 1 < T; t++) {
      const next = t + 1 === T - 1 ? new Float64Array(B * S) : (predictions[t + 1] as Float64Array);
      const l = seq.immediate[t + 1];
      const carried = next.map((v, i) => (l ? (l[i] as number) : 0) + gamma * v);
      const target = rowTimesJacobian(
        carried,
        seq.jacobians[t + 1] as Float64Array,
        B,
        S,
        new Float64Array(B * S),
      );
      const pred = predictions[t] as Float64Array;
      const s = seq.states[t] as Float64Array;
      for (let n = 0; n < B; n++) {
        for (let k = 0; k < S; k++) {
          const err = ((target[n * S + k] as number) - (pred[n * S + k] as number)) / B;
          bias[k] = (bias[k] as number) + err;
          for (let l2 = 0; l2 < S; l2++)
            theta[k * S + l2] = (theta[k * S + l2] as number) + err * (s[n * S + l2] as number);
        }
      }
    }
    expect(maxAbsDiff(learner.gradTheta, theta)).toBeLessThan(1e-12);
    expect(maxAbsDiff(learner.gradBias, bias)).toBeLessThan(1e-12);
  });

  it("lambda = 1, gamma = 1: the target is the true gradient of all later losses (backpropagated)", () => {
    const seq = sequence(5, B, S, T);
    const { predictions } = online(seq, B, 1, 1);
    const targets = lambdaReturnTargets(predictions, seq.jacobians, seq.immediate, B, S, { lambda: 1 });
    // Backpropagation through time of the losses after t, written directly.
    for (let t = 0; t + 1 < T; t++) {
      const truth = new Float64Array(B * S);
      for (let k = t + 1; k < T; k++) {
        const l = seq.immediate[k];
        if (!l) continue;
        let g: Float64Array = Float64Array.from(l);
        for (let u = k; u > t; u--)
          g = rowTimesJacobian(g, seq.jacobians[u] as Float64Array, B, S, new Float64Array(B * S));
        for (let i = 0; i < truth.length; i++) truth[i] = (truth[i] as number) + (g[i] as number);
      }
      expect(maxAbsDiff(targets[t] as Float64Array, truth)).toBeLessThan(1e-10);
    }
  });

  it("clips each step's update to norm 1 by default and rejects a lambda outside [0, 1]", () => {
    const seq = sequence(9, B, S, 3);
    for (let i = 0; i < seq.synth.theta.length; i++)
      seq.synth.theta[i] = (seq.synth.theta[i] as number) * 100;
    const learner = new BpLambdaLearner(seq.synth, B, { lambda: 1 });
    learner.begin();
    for (let t = 0; t < 2; t++) {
      learner.step({
        state: seq.states[t] as Float64Array,
        jacobian: seq.jacobians[t] ?? null,
        immediate: null,
        final: false,
      });
    }
    const norm = Math.hypot(...learner.gradTheta);
    expect(norm).toBeGreaterThan(0.99);
    expect(norm).toBeLessThan(1 + 1e-9);
    expect(() => new BpLambdaLearner(seq.synth, B, { lambda: 1.5 })).toThrow(
      /lambda must be in \[0, 1\], got 1.5/,
    );
  });

  it("a fresh synthesiser predicts zero (zero initialisation)", () => {
    const synth = new LinearSynthesiser(3, 2);
    expect([...synth.predict(Float64Array.from([1, 2, 3]), 1)]).toEqual([0, 0]);
  });
});
