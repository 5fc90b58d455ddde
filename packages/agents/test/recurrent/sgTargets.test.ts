import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "@sgprop/gym";
import { LabyrinthVectorEnv } from "@sgprop/popgym";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { disposeLossTensors, lossTensors } from "../../src/recurrent/batch.js";
import { coreBackward } from "../../src/recurrent/coreBackward.js";
import { RecurrentConfigError } from "../../src/recurrent/params.js";
import { bpLambdaStateTargets } from "../../src/recurrent/sgTargets.js";
import { allocTrace, type CoreSizes } from "../../src/recurrent/sparseCore.js";
import { sparseNetBptt } from "../../src/recurrent/sparsenetBptt.js";
import { type PopgymTrainOptions, resolvePopgymOptions } from "../../src/reinforce/options.js";
import { createPopgymTrainer, restorePopgymTrainer } from "../../src/reinforce/trainer.js";
import { stateGradientLambdaTargets } from "../../src/sg/bpLambda.js";
import type { MetricsRow } from "../../src/trainer.js";
import { TEST_BACKENDS, useBackend } from "../helpers.js";
import { randomBatch, TINY, tensorData, tinySparseNet } from "./fixtures.js";

beforeAll(async () => {
  await useBackend(TEST_BACKENDS[0] as (typeof TEST_BACKENDS)[number]);
});

const s: CoreSizes = { W: 5, q: 2, P: 2, M: 2, Ni: 2, Pq: 4, Mq: 4, C: 6, D: 7 };
const O = s.W * s.q;

function filled(a: Float32Array, rng: Rng, scale = 1): Float32Array {
  for (let i = 0; i < a.length; i++) a[i] = rng.normal(0, scale);
  return a;
}

/** A random core (trace and maps) of T steps and B envs, with an episode start of env 1 at step 2. */
function randomCore(seed: number, T: number, B: number) {
  const rng = Rng.fromSeed(seed);
  const trace = allocTrace(s, T * B);
  filled(trace.uPar, rng);
  filled(trace.y, rng, 0.5);
  for (let i = 0; i < trace.alpha.length; i++) trace.alpha[i] = rng.float();
  const maps = {
    wPar: filled(new Float32Array(s.W * s.Pq * s.C), rng, 0.5),
    bias: new Float32Array(s.W * s.C),
    parentIdx: Int32Array.from({ length: s.W * s.P }, () => rng.integer(0, s.W - 1)),
  };
  const keep = new Float32Array(T * B).fill(1);
  keep[2 * B + 1] = 0;
  const dActor = filled(new Float32Array(T * B * O), rng);
  const pred = filled(new Float32Array(T * B * O), rng);
  return { trace, maps, keep, dActor, pred };
}

describe("BP(lambda) targets of the recurrent SparseNet's SG predictors", () => {
  it("equal eq. 11 (sg/bpLambda.ts) on explicit Jacobians of the core, for lambda 0, 0.5, 1", () => {
    const T = 4;
    const B = 2;
    const core = randomCore(5, T, B);
    const { trace, maps, keep } = core;
    // J_t = dH_t / dH_{t-1} per env, row k from a backward pass of the unit vector e_k at H_t.
    const jacobians: (Float64Array | null)[] = [null];
    for (let t = 1; t < T; t++) {
      const jac = new Float64Array(B * O * O);
      for (let k = 0; k < O; k++) {
        const unit = new Float32Array(T * B * O);
        for (let b = 0; b < B; b++) unit[(t * B + b) * O + k] = 1;
        const g = coreBackward(s, maps, trace, unit, keep, T, B).trueGrad;
        for (let b = 0; b < B; b++)
          for (let j = 0; j < O; j++) jac[b * O * O + k * O + j] = g[((t - 1) * B + b) * O + j] as number;
      }
      jacobians.push(jac);
    }
    const rows = (a: Float32Array) =>
      Array.from({ length: T }, (_, t) => Float64Array.from(a.subarray(t * B * O, (t + 1) * B * O)));
    const valid = new Uint8Array(T * B).fill(1);
    for (const lambda of [0, 0.5, 1]) {
      const got = bpLambdaStateTargets(s, maps, trace, core.dActor, keep, T, B, core.pred, valid, lambda);
      const want = stateGradientLambdaTargets(rows(core.pred), jacobians, rows(core.dActor), B, O, {
        lambda,
        gamma: 1,
      });
      for (let t = 0; t < T; t++)
        for (let i = 0; i < B * O; i++)
          expect(got[t * B * O + i] as number).toBeCloseTo((want[t] as Float64Array)[i] as number, 4);
    }
    // A different lambda gives different targets (the test above can fail).
    const zero = bpLambdaStateTargets(s, maps, trace, core.dActor, keep, T, B, core.pred, valid, 0);
    const one = bpLambdaStateTargets(s, maps, trace, core.dActor, keep, T, B, core.pred, valid, 1);
    expect(Math.abs((zero[0] as number) - (one[0] as number))).toBeGreaterThan(1e-3);
  });

  it("bootstraps nothing past an episode's end: invalid rows' predictions are ignored", () => {
    const T = 5;
    const B = 2;
    const core = randomCore(6, T, B);
    const valid = new Uint8Array(T * B).fill(1);
    // Env 0 ends at step 2; its later rows carry no loss.
    for (let t = 3; t < T; t++) {
      valid[t * B] = 0;
      core.dActor.fill(0, t * B * O, t * B * O + O);
    }
    const args = [s, core.maps, core.trace, core.dActor, core.keep, T, B] as const;
    const a = bpLambdaStateTargets(...args, core.pred, valid, 0.5);
    const other = Float32Array.from(core.pred);
    for (let t = 3; t < T; t++) other.fill(7, t * B * O, t * B * O + O);
    const b = bpLambdaStateTargets(...args, other, valid, 0.5);
    expect(Array.from(b)).toEqual(Array.from(a));
    for (let t = 3; t < T; t++)
      expect(Array.from(a.subarray(t * B * O, t * B * O + O))).toEqual(new Array(O).fill(0));
  });

  it("in sparseNetBptt: BP(1) with theta = 1 gives the paper's SG gradients; with theta = 0.5 it does not", async () => {
    const batch = randomBatch(3, 6, 3, TINY.obsDim, TINY.numActions, [5, 2, 4]);
    const lt = lossTensors(batch, TINY.obsDim, TINY.numActions, { gamma: 0.95, entropyCoef: 0.01 });
    const sg = async (theta: number, bpLambda?: { lambda: number }) => {
      const policy = tinySparseNet(4);
      const thetaSchedule = new Float64Array(batch.numSteps * TINY.width).fill(theta);
      const r = sparseNetBptt(policy, batch, lt, {
        entropyCoef: 0.01,
        mixing: { thetaSchedule, mode: "prediction", ...(bpLambda !== undefined ? { bpLambda } : {}) },
      });
      const out = {
        loss: r.sgLoss,
        grads: await tensorData(r.sgGrads ?? new Map()),
        policy: await tensorData(r.grads),
      };
      for (const t of [...r.grads.values(), ...(r.sgGrads?.values() ?? [])]) t.dispose();
      policy.dispose();
      return out;
    };
    const paper1 = await sg(1);
    expect(await sg(1, { lambda: 1 })).toEqual(paper1);
    const paperHalf = await sg(0.5);
    const bp1Half = await sg(0.5, { lambda: 1 });
    expect(bp1Half.policy).toEqual(paperHalf.policy); // the rule changes the predictors' target only
    expect(bp1Half.grads.sgA).not.toEqual(paperHalf.grads.sgA);
    expect((await sg(0.5, { lambda: 0 })).grads.sgA).not.toEqual(bp1Half.grads.sgA);
    disposeLossTensors(lt);
  });
});

const SMALL: Partial<PopgymTrainOptions> = {
  envFactory: (spec) => new LabyrinthVectorEnv(spec),
  numEnvs: 3,
  batches: 2,
  width: 8,
  neuronDim: 2,
  numParents: 2,
  numSlots: 2,
  numInputNeurons: 3,
  embedHidden: 8,
  embedDim: 8,
  actorSlots: 2,
  episodeLength: 12,
  sgLearningRate: 1e-2,
  seed: 2,
};

function stable(row: MetricsRow): Record<string, number> {
  return Object.fromEntries(Object.entries(row).filter(([k]) => !k.startsWith("perf/")));
}

async function rows(options: Partial<PopgymTrainOptions>): Promise<Record<string, number>[]> {
  const trainer = await createPopgymTrainer({ ...SMALL, ...options });
  const out = [stable((await trainer.next()).train), stable((await trainer.next()).train)];
  trainer.dispose();
  return out;
}

describe("POPGym trainer with sgRule", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("unset and gtilde give bit-identical metrics; bp-lambda changes the SG loss; a checkpoint keeps the rule", async () => {
    const paper = await rows({});
    expect(await rows({ sgRule: "gtilde" })).toEqual(paper);
    const bp = await rows({ sgRule: "bp-lambda", sgLambda: 0 });
    // Same first policy step (the predictors start at zero), different SG regression.
    expect(bp[0]?.["losses/total_loss"]).toBe(paper[0]?.["losses/total_loss"]);
    expect(bp[0]?.["losses/sg_loss"]).not.toBe(paper[0]?.["losses/sg_loss"]);
    expect(bp[1]?.["losses/sg_loss"]).not.toBe(paper[1]?.["losses/sg_loss"]);

    const trainer = await createPopgymTrainer({ ...SMALL, sgRule: "bp-lambda", sgLambda: 0 });
    await trainer.next();
    const dir = mkdtempSync(join(tmpdir(), "sgrule-"));
    dirs.push(dir);
    await trainer.saveCheckpoint(dir);
    const restored = await restorePopgymTrainer(dir, { envFactory: SMALL.envFactory });
    expect(stable((await restored.next()).train)).toEqual(bp[1]);
  });

  it("rejects a bad rule, lambda out of range, lambda without the rule, and the rule without SG", () => {
    const bad: Partial<PopgymTrainOptions>[] = [
      { sgRule: "td" as never },
      { sgRule: "bp-lambda", sgLambda: 1.5 },
      { sgLambda: 0.5 },
      { model: "gru", sgRule: "bp-lambda" },
    ];
    for (const o of bad)
      expect(() => resolvePopgymOptions(o), JSON.stringify(o)).toThrow(RecurrentConfigError);
    expect(resolvePopgymOptions({ sgRule: "bp-lambda", sgLambda: 0.5 }).sgLambda).toBe(0.5);
  });
});
