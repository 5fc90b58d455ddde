import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { estimatorError } from "../../src/diagnose/estimatorErrors.js";
import { momentIndex, type PoolMoments } from "../../src/diagnose/poolMoments.js";
import { diagnoseRecurrentSparseNet, type RecurrentRunSettings } from "../../src/diagnose/recurrent.js";
import { diagnoseRecurrentCheckpoint } from "../../src/diagnose/recurrentCheckpoint.js";
import {
  canonicalToUnits,
  createEpisodeContext,
  type EpisodeSettings,
  envsOf,
  episodeGradients,
} from "../../src/diagnose/recurrentEpisode.js";
import { disposeLossTensors, lossTensors, type SequenceBatch } from "../../src/recurrent/batch.js";
import type { SparseNetPolicy } from "../../src/recurrent/sparsenet.js";
import { sparseNetBptt } from "../../src/recurrent/sparsenetBptt.js";
import type { LabyrinthEnvFactory } from "../../src/reinforce/options.js";
import { createPopgymTrainer } from "../../src/reinforce/trainer.js";
import { temporalThetaSchedule } from "../../src/sgprop/thetaSchedule.js";
import { useBackend } from "../helpers.js";
import { randomBatch, TINY, tinySparseNet } from "../recurrent/fixtures.js";

const T = 7;
const B = 3;
const SETTINGS: EpisodeSettings = {
  rolloutLength: T,
  thetaRho: 0.1,
  sgMode: "prediction",
  gamma: 0.95,
  entropyCoef: 0.01,
};

function validCount(b: SequenceBatch): number {
  let n = 0;
  for (let k = 0; k < b.valid.length; k++) if (b.valid[k]) n++;
  return n;
}

/** Per-kind, per-unit sums of the episodes' vectors (`space`: raw or normalised). */
function episodeSums(
  policy: SparseNetPolicy,
  theta: ArrayLike<number>,
  batch: SequenceBatch,
  settings: EpisodeSettings,
): { raw: Float64Array[][]; normalised: Float64Array[][] } {
  const ctx = createEpisodeContext(policy, theta, settings, {
    // The batch's own mean length and size: then B x (the trainer's gradient) = sum of episodes.
    lengthScale: validCount(batch) / batch.numEnvs,
    predictionScale: batch.numEnvs,
    returnShift: 0,
    returnScale: 1,
  });
  let sums: { raw: Float64Array[][]; normalised: Float64Array[][] } | undefined;
  // Envs 0 and 1 as a pair (two threads, each env's sums apart), the others one at a time.
  const parts = [
    envsOf(batch, 0, 2),
    ...Array.from({ length: batch.numEnvs - 2 }, (_, b) => envsOf(batch, b + 2)),
  ];
  for (const g of parts.flatMap((part) => episodeGradients(ctx, part))) {
    if (sums === undefined) {
      sums = {
        raw: g.raw.map((k) => k.map((v) => Float64Array.from(v))),
        normalised: g.normalised.map((k) => k.map((v) => Float64Array.from(v))),
      };
      continue;
    }
    for (const space of ["raw", "normalised"] as const)
      g[space].forEach((kind, k) => {
        kind.forEach((v, i) => {
          const s = sums?.[space][k]?.[i] as Float64Array;
          for (let x = 0; x < v.length; x++) s[x] = (s[x] as number) + (v[x] as number);
        });
      });
  }
  return sums as { raw: Float64Array[][]; normalised: Float64Array[][] };
}

/** The trainer's own gradient (sparseNetBptt, unnormalised returns) of the batch in unit layout. */
async function trainerGradient(
  policy: SparseNetPolicy,
  batch: SequenceBatch,
  theta: ArrayLike<number> | undefined,
): Promise<Float64Array[]> {
  const lt = lossTensors(batch, TINY.obsDim, TINY.numActions, { ...SETTINGS, normalizeReturns: false });
  const r = sparseNetBptt(policy, batch, lt, {
    entropyCoef: SETTINGS.entropyCoef,
    ...(theta !== undefined
      ? {
          mixing: {
            thetaSchedule: temporalThetaSchedule(theta, policy.graph, T, SETTINGS.thetaRho),
            mode: "prediction" as const,
          },
        }
      : {}),
  });
  disposeLossTensors(lt);
  const data = async (n: string) => (await r.grads.get(n)?.data()) as Float32Array;
  const units = canonicalToUnits(
    policy.dims,
    await data("policyA"),
    await data("neuronKeys"),
    await data("policyB"),
  );
  for (const t of r.grads.values()) t.dispose();
  for (const t of r.sgGrads?.values() ?? []) t.dispose();
  return units;
}

/** max |a - b| / max |b| over all units. */
function relError(a: readonly Float64Array[], b: readonly Float64Array[]): number {
  let diff = 0;
  let scale = 0;
  b.forEach((v, i) => {
    const u = a[i] as Float64Array;
    expect(u.length).toBe(v.length);
    for (let x = 0; x < v.length; x++) {
      diff = Math.max(diff, Math.abs((u[x] as number) - (v[x] as number)));
      scale = Math.max(scale, Math.abs(v[x] as number));
    }
  });
  expect(scale).toBeGreaterThan(0);
  return diff / scale;
}

const scaled = (vs: readonly Float64Array[], c: number) => vs.map((v) => v.map((x) => x * c));

describe("recurrent SparseNet diagnosis: per-episode gradients", () => {
  beforeAll(async () => {
    await useBackend("wasm");
  });
  const batch = randomBatch(4, T, B, TINY.obsDim, TINY.numActions, [6, 2, 4]);
  const theta = Float64Array.from({ length: TINY.width }, (_, i) => 0.3 + 0.1 * i);

  it("summed over the episodes, backprop and applied equal the trainer's batch gradients (plain and mixed BPTT)", async () => {
    const policy = tinySparseNet(11);
    const sums = episodeSums(policy, theta, batch, SETTINGS);
    const plain = await trainerGradient(policy, batch, undefined);
    const mixed = await trainerGradient(policy, batch, theta);
    expect(relError(scaled(sums.raw[0] as Float64Array[], 1 / B), plain)).toBeLessThan(1e-5);
    expect(relError(scaled(sums.raw[3] as Float64Array[], 1 / B), mixed)).toBeLessThan(1e-5);
    // The mix changes the gradient, so the second check could fail.
    expect(relError(mixed, plain)).toBeGreaterThan(1e-3);
    policy.dispose();
  });

  it("with theta = 1 everywhere, backprop, live and applied coincide (raw and normalised)", () => {
    const policy = tinySparseNet(12);
    const ones = new Float64Array(TINY.width).fill(1);
    for (const sgMode of ["prediction", "positive_projection"] as const) {
      const s = episodeSums(policy, ones, batch, { ...SETTINGS, sgMode });
      const [bp, live, , applied] = s.raw as Float64Array[][];
      expect(applied).toEqual(bp); // the mix with theta = 1 is exactly backprop (SPEC 4.4)
      expect(relError(live as Float64Array[], bp as Float64Array[])).toBeLessThan(1e-6);
      expect(relError(s.normalised[1] as Float64Array[], s.normalised[0] as Float64Array[])).toBeLessThan(
        1e-5,
      );
      // and the synthetic kind is something else
      expect(relError(s.raw[2] as Float64Array[], bp as Float64Array[])).toBeGreaterThan(1e-2);
    }
    policy.dispose();
  });

  it("with a constant schedule (rho = 0), applied = theta live + (1 - theta) synthetic per neuron", () => {
    const policy = tinySparseNet(13);
    const s = episodeSums(policy, theta, batch, { ...SETTINGS, thetaRho: 0 });
    const [, live, synthetic, applied] = s.raw as Float64Array[][];
    const mix = (live as Float64Array[]).map((v, i) => {
      const th = theta[i] as number;
      const sg = (synthetic as Float64Array[])[i] as Float64Array;
      return v.map((x, j) => th * x + (1 - th) * (sg[j] as number));
    });
    expect(relError(mix, applied as Float64Array[])).toBeLessThan(1e-5);
    policy.dispose();
  });
});

describe("recurrent SparseNet diagnosis: the normalised space is eq. 3's", () => {
  beforeAll(async () => {
    await useBackend("wasm");
  });

  it("with one valid step per episode, eq. 3 on the pool's normalised moments is the trainer's thetaBatch", async () => {
    // Episodes of one valid step make a pool sample one trainer row, so the trainer's eq. 3 sums
    // (per row) are the pool's moments: live = the received gradient, synthetic = the substitute.
    const batch = randomBatch(6, 5, 4, TINY.obsDim, TINY.numActions, [0, 0, 0, 0]);
    const { PoolMomentAccumulator } = await import("../../src/diagnose/poolMoments.js");
    const { thetaFromSums } = await import("../../src/sgprop/thetaEstimator.js");
    const policy = tinySparseNet(14);
    const thetaPrev = Float64Array.from({ length: TINY.width }, (_, i) => 0.2 + 0.12 * i);
    for (const mode of ["prediction", "positive_projection"] as const) {
      const settings = { ...SETTINGS, rolloutLength: 5, sgMode: mode };
      const ctx = createEpisodeContext(policy, thetaPrev, settings, {
        lengthScale: 1,
        predictionScale: 4,
        returnShift: 0,
        returnScale: 1,
      });
      const gs = [0, 2].flatMap((b) => episodeGradients(ctx, envsOf(batch, b, b + 2)));
      const acc = new PoolMomentAccumulator(
        ["backprop", "live", "synthetic"],
        gs[0]?.normalised[0]?.map((v) => v.length) ?? [],
      );
      for (const g of gs) acc.add(g.normalised);
      const m = acc.moments();
      const at = (arr: Float64Array, k: number, j: number, i: number) =>
        arr[momentIndex(m, k, j, i)] as number;
      const W = TINY.width;
      const sums = {
        sumDd: new Float64Array(W),
        sumWd: new Float64Array(W),
        barDd: new Float64Array(W),
        barWd: new Float64Array(W),
      };
      for (let i = 0; i < W; i++) {
        sums.sumDd[i] = at(m.sumInner, 2, 2, i) - 2 * at(m.sumInner, 1, 2, i) + at(m.sumInner, 1, 1, i);
        sums.sumWd[i] = at(m.sumInner, 1, 2, i) - at(m.sumInner, 1, 1, i);
        sums.barDd[i] =
          at(m.innerOfSums, 2, 2, i) - 2 * at(m.innerOfSums, 1, 2, i) + at(m.innerOfSums, 1, 1, i);
        sums.barWd[i] = at(m.innerOfSums, 1, 2, i) - at(m.innerOfSums, 1, 1, i);
      }
      const ours = thetaFromSums(4, sums.sumDd, sums.sumWd, sums.barDd, sums.barWd, thetaPrev);
      const lt = lossTensors(batch, TINY.obsDim, TINY.numActions, { ...SETTINGS, normalizeReturns: false });
      const r = sparseNetBptt(policy, batch, lt, {
        entropyCoef: SETTINGS.entropyCoef,
        mixing: {
          thetaSchedule: temporalThetaSchedule(thetaPrev, policy.graph, 5, SETTINGS.thetaRho),
          mode,
          thetaPrev,
        },
      });
      disposeLossTensors(lt);
      for (const t of [...r.grads.values(), ...(r.sgGrads?.values() ?? [])]) t.dispose();
      const trainer = r.thetaBatch as Float64Array;
      expect(trainer.some((t, i) => Math.abs(t - (thetaPrev[i] as number)) > 1e-3)).toBe(true);
      for (let i = 0; i < W; i++) expect(ours[i]).toBeCloseTo(trainer[i] as number, 4);
    }
    policy.dispose();
  });
});

/** tr Cov of (kind a - kind b) over the pool, relative to tr Cov of a: 0 when they coincide. */
function relativeDifference(m: PoolMoments, a: number, b: number): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < m.units; i++) {
    const inner = (k: number, j: number) => m.sumInner[momentIndex(m, k, j, i)] as number;
    num += inner(a, a) - 2 * inner(a, b) + inner(b, b);
    den += inner(a, a);
  }
  return num / den;
}

describe("diagnoseRecurrentSparseNet", () => {
  beforeAll(async () => {
    await useBackend("wasm");
  });

  it("theta = 1: the backprop and current-theta rows coincide; theta < 1: they differ", async () => {
    const { LabyrinthVectorEnv } = await import("@sgprop/popgym");
    const policy = tinySparseNetFor(56, 4);
    const run: RecurrentRunSettings = {
      ...SETTINGS,
      env: "escape",
      mazeDims: [6, 6],
      mazeGenerator: "default",
      numEnvs: 4,
      exploreRewardZeroProb: 0.75,
      seed: 0,
      episodeLength: 12,
      rolloutLength: 12,
      envFactory: (spec) => new LabyrinthVectorEnv(spec),
    };
    const tensors = tf.memory().numTensors;
    const one = diagnoseRecurrentSparseNet(policy, new Float64Array(TINY.width).fill(1), run, {
      episodes: 6,
    });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(one.raw.samples).toBe(6);
    expect(one.raw.units).toBe(TINY.width);
    expect(one.raw.kinds).toEqual(["backprop", "live", "synthetic", "applied"]);
    expect(relativeDifference(one.raw, 0, 3)).toBe(0);
    expect(relativeDifference(one.raw, 0, 1)).toBeLessThan(1e-10);
    const target = { kind: "pool" as const, coefficients: [1, 0, 0, 0] };
    const bp = estimatorError(one.raw, [1, 0, 0, 0], 4, target);
    const current = estimatorError(one.raw, one.current, 4, target);
    expect(Array.from(current.mse)).toEqual(Array.from(bp.mse));
    const half = diagnoseRecurrentSparseNet(policy, new Float64Array(TINY.width).fill(0.5), run, {
      episodes: 6,
    });
    expect(relativeDifference(half.raw, 0, 3)).toBeGreaterThan(1e-4);
    // Same episodes (own streams, same seed): the backprop kind is the same pool.
    expect(Array.from(half.raw.sumInner.subarray(0, TINY.width))).toEqual(
      Array.from(one.raw.sumInner.subarray(0, TINY.width)),
    );
    policy.dispose();
  });
});

/** The tiny net with the observation width and action count of the 6x6 labyrinth. */
function tinySparseNetFor(obsDim: number, numActions: number): SparseNetPolicy {
  return tinySparseNet(21, { ...TINY, obsDim, numActions });
}

describe("diagnoseRecurrentCheckpoint", () => {
  it("runs on a checkpoint written by a short sgprop run of the trainer, with the run's theta", async () => {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { LabyrinthVectorEnv } = await import("@sgprop/popgym");
    const envFactory: LabyrinthEnvFactory = (spec) => new LabyrinthVectorEnv(spec);
    const trainer = await createPopgymTrainer({
      envFactory,
      backend: "wasm",
      numEnvs: 4,
      batches: 2,
      width: 12,
      neuronDim: 3,
      numParents: 3,
      numSlots: 2,
      numInputNeurons: 4,
      embedHidden: 16,
      embedDim: 16,
      actorSlots: 2,
      episodeLength: 16,
      seed: 5,
    });
    await trainer.next();
    await trainer.next();
    const dir = mkdtempSync(join(tmpdir(), "sgprop-diagnose-"));
    try {
      await trainer.saveCheckpoint(join(dir, "checkpoint"));
      const theta = Float64Array.from((trainer as unknown as { theta: Float64Array }).theta);
      trainer.dispose();
      expect(theta.some((t) => t < 1)).toBe(true); // the run adapted theta
      const progress: number[] = [];
      const m = await diagnoseRecurrentCheckpoint(join(dir, "checkpoint"), {
        envFactory,
        episodes: 5,
        onProgress: (phase, done) => {
          if (phase === "gradients") progress.push(done);
        },
      });
      expect(progress).toEqual([1, 2, 3, 4, 5]);
      expect(Array.from(m.liveTheta)).toEqual(Array.from(theta));
      expect(m.trainerBatch).toBe(4);
      expect(m.raw.samples).toBe(5);
      expect(m.normalised.kinds).toEqual(["backprop", "live", "synthetic"]);
      expect(m.layers).toEqual([{ name: "core", from: 0, to: 12 }]);
      for (const x of [...m.raw.sumInner, ...m.normalised.innerOfSums]) expect(Number.isFinite(x)).toBe(true);
      // Every neuron's backprop gradient is nonzero somewhere in the pool.
      for (let i = 0; i < 12; i++) expect(m.raw.sumInner[momentIndex(m.raw, 0, 0, i)]).toBeGreaterThan(0);
      // The same checkpoint and seed give the same pool (own streams, deterministic kernels).
      const again = await diagnoseRecurrentCheckpoint(join(dir, "checkpoint"), { envFactory, episodes: 5 });
      expect(Array.from(again.raw.innerOfSums)).toEqual(Array.from(m.raw.innerOfSums));
      await expect(
        diagnoseRecurrentCheckpoint(join(dir, "nowhere"), { envFactory, episodes: 5 }),
      ).rejects.toThrow(/nowhere/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("rollout step buffers (rolloutCore.ts)", () => {
  it("are not reused across networks of different sizes (a diagnosis after training another net)", async () => {
    await useBackend("wasm");
    const { allocTrace } = await import("../../src/recurrent/sparseCore.js");
    const { coreSizes } = await import("../../src/recurrent/sparseMaps.js");
    const step = (policy: SparseNetPolicy, n: number) => {
      const trace = allocTrace(coreSizes(policy.dims), n);
      const obs = new Float32Array(n * policy.config.obsDim).fill(1);
      return policy.step(
        policy.rolloutMaps(),
        policy.zeroState(n),
        0,
        new Float32Array(n).fill(1),
        obs,
        trace,
        0,
      );
    };
    const small = tinySparseNet(31);
    const large = tinySparseNet(32, { ...TINY, width: 40, neuronDim: 4, embedDim: 8 });
    step(small, 64); // many rows of a small net
    const logits = step(large, 8); // then fewer rows of a larger one
    expect(logits.every(Number.isFinite)).toBe(true);
    small.dispose();
    large.dispose();
  });
});
