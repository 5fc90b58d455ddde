import { Rng } from "@sgprop/gym";
import { describe, expect, it } from "vitest";
import { type Core, LstmCore, RnnCore, zerosLike } from "../src/cores.js";
import { methodSettings, truncations } from "../src/methods.js";
import { Readout, stepLoss } from "../src/readout.js";
import { learnSequence, type Model, type SequenceBatch } from "../src/sequence.js";
import { CopyRepeatTask } from "../src/tasks/copyRepeat.js";

const B = 2;

function randomArray(rng: Rng, n: number, std = 1) {
  return Float64Array.from({ length: n }, () => rng.normal(0, std));
}

function cores(rng: Rng): Core[] {
  return [new RnnCore(3, 4, "tanh", rng), new LstmCore(3, 3, rng)];
}

describe.each(["rnn", "lstm"])("%s core", (kind) => {
  const rng = Rng.derive(1, "bp-lambda-test/cores");
  const core = cores(rng).find((c) => c.kind === kind) as Core;
  const S = core.stateSize;
  const prev = randomArray(rng, B * S, 0.5);
  const x = randomArray(rng, B * core.inputSize);
  const dState = randomArray(rng, B * S);
  const objective = (p: Float64Array) => {
    const s = core.forward(p, x, B).state;
    return s.reduce((a, v, i) => a + v * (dState[i] as number), 0);
  };

  it("backward is the vector-Jacobian product (finite differences)", () => {
    const cache = core.forward(prev, x, B);
    const grads = zerosLike(core.params);
    const dPrev = core.backward(cache, dState, B, grads);
    const eps = 1e-6;
    for (let i = 0; i < prev.length; i++) {
      const plus = Float64Array.from(prev);
      const minus = Float64Array.from(prev);
      plus[i] = (plus[i] as number) + eps;
      minus[i] = (minus[i] as number) - eps;
      expect(dPrev[i]).toBeCloseTo((objective(plus) - objective(minus)) / (2 * eps), 6);
    }
    for (const name of ["w_ih", "w_hh", "b"] as const) {
      const p = core.params[name];
      for (let i = 0; i < p.length; i += 3) {
        const old = p[i] as number;
        p[i] = old + eps;
        const up = objective(prev);
        p[i] = old - eps;
        const down = objective(prev);
        p[i] = old;
        expect(grads[name][i]).toBeCloseTo((up - down) / (2 * eps), 6);
      }
    }
  });

  it("the Jacobian agrees with backward (row vector times J)", () => {
    const cache = core.forward(prev, x, B);
    const jac = core.jacobian(cache, B);
    const dPrev = core.backward(cache, dState, B, zerosLike(core.params));
    for (let n = 0; n < B; n++) {
      for (let j = 0; j < S; j++) {
        let v = 0;
        for (let i = 0; i < S; i++)
          v += (dState[n * S + i] as number) * (jac[n * S * S + i * S + j] as number);
        expect(v).toBeCloseTo(dPrev[n * S + j] as number, 12);
      }
    }
  });
});

function copyModel(seed: number, kind: "rnn" | "lstm"): { model: Model; batch: SequenceBatch } {
  const rng = Rng.derive(seed, "bp-lambda-test/model");
  const task = new CopyRepeatTask({ bits: 3 });
  task.N = 2;
  task.R = 2;
  const core =
    kind === "lstm" ? new LstmCore(task.inputSize, 4, rng) : new RnnCore(task.inputSize, 4, "tanh", rng);
  const model = { core, readout: new Readout(4, task.outputSize, rng), synthesiser: null };
  return { model, batch: task.batch(rng, B) };
}

describe("truncated BPTT", () => {
  it("cuts sequences as the authors do: the remainder first, then n steps", () => {
    expect(truncations(7, 3)).toEqual([
      [0, 1],
      [1, 4],
      [4, 7],
    ]);
    expect(truncations(6, 3)).toEqual([
      [0, 3],
      [3, 6],
    ]);
    expect(truncations(5, 9)).toEqual([[0, 5]]);
  });

  it.each(["rnn", "lstm"] as const)(
    "equals full BPTT when n >= T, and full BPTT is the loss gradient (%s)",
    (kind) => {
      const { model, batch } = copyModel(2, kind);
      const T = batch.inputs.length;
      const full = learnSequence(model, batch, methodSettings({ method: "bptt" }), null);
      for (const n of [T, T + 3]) {
        const cut = learnSequence(model, batch, methodSettings({ method: "bptt", n }), null);
        expect(Array.from(cut.grads.core.w_hh)).toEqual(Array.from(full.grads.core.w_hh));
        expect(Array.from(cut.grads.core.w_ih)).toEqual(Array.from(full.grads.core.w_ih));
      }
      const short = learnSequence(model, batch, methodSettings({ method: "bptt", n: 2 }), null);
      expect(
        Math.max(...short.grads.core.w_hh.map((v, i) => Math.abs(v - (full.grads.core.w_hh[i] as number)))),
      ).toBeGreaterThan(1e-6);
      // Finite differences of the loss itself.
      const eps = 1e-6;
      const w = model.core.params.w_hh;
      for (let i = 0; i < w.length; i += 5) {
        const old = w[i] as number;
        w[i] = old + eps;
        const up = learnSequence(model, batch, methodSettings({ method: "no-bptt" }), null).loss;
        w[i] = old - eps;
        const down = learnSequence(model, batch, methodSettings({ method: "no-bptt" }), null).loss;
        w[i] = old;
        expect(full.grads.core.w_hh[i]).toBeCloseTo((up - down) / (2 * eps), 6);
      }
    },
  );

  it("no-bptt is truncation 1: each step learns from its own loss only", () => {
    const { model, batch } = copyModel(3, "rnn");
    const a = learnSequence(model, batch, methodSettings({ method: "no-bptt" }), null);
    const b = learnSequence(model, batch, methodSettings({ method: "bptt", n: 1 }), null);
    expect(Array.from(a.grads.core.w_hh)).toEqual(Array.from(b.grads.core.w_hh));
  });
});

function addTo(a: Float64Array, i: number, v: number): void {
  a[i] = (a[i] as number) + v;
}

describe("LSTM without BPTT: the authors' cell eligibility vectors", () => {
  it("equal sum_t ls_t . evec_t with evec_t = f_t evec_{t-1} + d c_t / d W (forward, e-prop)", () => {
    const { model, batch } = copyModel(4, "lstm");
    const core = model.core as LstmCore;
    const H = core.hiddenSize;
    const I = core.inputSize;
    const S = 2 * H;
    const T = batch.inputs.length;
    const targetSteps = batch.targets.filter((t) => t !== null).length;
    const want = zerosLike(core.params);
    // Forward-mode traces for the input, forget and candidate gates: [gate][n][k][pre].
    const evecR = Array.from({ length: 3 }, () => new Float64Array(B * H * H));
    const evecI = Array.from({ length: 3 }, () => new Float64Array(B * H * I));
    const evecB = Array.from({ length: 3 }, () => new Float64Array(B * H));
    let prev = new Float64Array(B * S);
    for (let t = 0; t < T; t++) {
      const x = batch.inputs[t] as Float64Array;
      const cache = core.forward(prev, x, B);
      const target = batch.targets[t];
      let lh: Float64Array = new Float64Array(B * S);
      if (target) {
        const y = model.readout.forward(cache.state, S, B);
        const step = stepLoss("bce", y, target, B, model.readout.outputSize, 1 / targetSteps);
        lh = model.readout.backward(
          cache.state,
          S,
          step.dy,
          B,
          new Float64Array(99999),
          new Float64Array(99),
        );
      }
      for (let n = 0; n < B; n++) {
        for (let k = 0; k < H; k++) {
          const a = (g: number) => cache.aux[n * 5 * H + g * H + k] as number;
          const [i, f, g, o, tc] = [a(0), a(1), a(2), a(3), a(4)];
          const cPrev = prev[n * S + H + k] as number;
          const post = [g * i * (1 - i), cPrev * f * (1 - f), i * (1 - g * g)];
          const dh = lh[n * S + k] as number;
          const dc = dh * o * (1 - tc * tc);
          for (let gate = 0; gate < 4; gate++) {
            const row = gate * H + k;
            if (gate === 3) {
              const po = dh * tc * o * (1 - o);
              for (let j = 0; j < H; j++) addTo(want.w_hh, row * H + j, po * (prev[n * S + j] as number));
              for (let j = 0; j < I; j++) addTo(want.w_ih, row * I + j, po * (x[n * I + j] as number));
              addTo(want.b, row, po);
              continue;
            }
            const eR = evecR[gate] as Float64Array;
            const eI = evecI[gate] as Float64Array;
            const eB = evecB[gate] as Float64Array;
            const p = post[gate] as number;
            for (let j = 0; j < H; j++) {
              const at = (n * H + k) * H + j;
              eR[at] = f * (eR[at] as number) + p * (prev[n * S + j] as number);
              addTo(want.w_hh, row * H + j, dc * (eR[at] as number));
            }
            for (let j = 0; j < I; j++) {
              const at = (n * H + k) * I + j;
              eI[at] = f * (eI[at] as number) + p * (x[n * I + j] as number);
              addTo(want.w_ih, row * I + j, dc * (eI[at] as number));
            }
            eB[n * H + k] = f * (eB[n * H + k] as number) + p;
            addTo(want.b, row, dc * (eB[n * H + k] as number));
          }
        }
      }
      prev = cache.state as Float64Array<ArrayBuffer>;
    }
    const got = learnSequence(model, batch, methodSettings({ method: "no-bptt", cellTraces: true }), null)
      .grads.core;
    for (const key of ["w_hh", "w_ih", "b"] as const)
      got[key].forEach((v, idx) => {
        expect(v).toBeCloseTo(want[key][idx] as number, 12);
      });
    // Strictly one-step gradients differ (the test can fail).
    const oneStep = learnSequence(
      model,
      batch,
      methodSettings({ method: "no-bptt", cellTraces: false }),
      null,
    );
    expect(Array.from(oneStep.grads.core.w_hh)).toEqual(
      Array.from(learnSequence(model, batch, methodSettings({ method: "bptt", n: 1 }), null).grads.core.w_hh),
    );
    expect(
      Math.max(...oneStep.grads.core.w_hh.map((v, idx) => Math.abs(v - (got.w_hh[idx] as number)))),
    ).toBeGreaterThan(1e-6);
  });
});
