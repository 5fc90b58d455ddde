import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LabyrinthVectorEnv } from "@sgprop/popgym";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, describe, expect, it } from "vitest";
import { lossTensors } from "../../src/recurrent/batch.js";
import { RecurrentConfigError, RecurrentInputError } from "../../src/recurrent/params.js";
import { type PopgymTrainOptions, resolvePopgymOptions } from "../../src/reinforce/options.js";
import { createPopgymTrainer, restorePopgymTrainer, trainPopgym } from "../../src/reinforce/trainer.js";
import type { MetricsRow } from "../../src/trainer.js";
import { TEST_BACKENDS } from "../helpers.js";
import { randomBatch, TINY, tinySparseNet } from "./fixtures.js";

const SMALL: Partial<PopgymTrainOptions> = {
  envFactory: (spec) => new LabyrinthVectorEnv(spec),
  numEnvs: 4,
  batches: 3,
  width: 12,
  neuronDim: 3,
  numParents: 3,
  numSlots: 2,
  numInputNeurons: 4,
  embedHidden: 16,
  embedDim: 16,
  actorSlots: 2,
  hiddenSize: 16,
  actorHiddenSize: 16,
  learningRate: 3e-3,
};

const MODELS = [
  { model: "gru", algorithm: "backprop" },
  { model: "lstm", algorithm: "backprop" },
  { model: "sparsenet", algorithm: "backprop" },
  { model: "sparsenet", algorithm: "sgprop" },
] as const;

/** Rows without the wall-clock columns. */
function stable(row: MetricsRow): Record<string, number> {
  return Object.fromEntries(Object.entries(row).filter(([k]) => !k.startsWith("perf/")));
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.each(TEST_BACKENDS)("POPGym trainer on %s", (backend) => {
  it.each(MODELS)(
    "$model $algorithm trains on LabyrinthEscape 6x6 without NaN or tensor growth",
    async ({ model, algorithm }) => {
      const trainer = await createPopgymTrainer({ ...SMALL, model, algorithm, backend, seed: 3 });
      const rows: MetricsRow[] = [];
      rows.push((await trainer.next()).train);
      const tensorsAfterFirst = tf.memory().numTensors;
      rows.push((await trainer.next()).train);
      rows.push((await trainer.next()).train);
      expect(tf.memory().numTensors).toBe(tensorsAfterFirst);
      expect(trainer.completed).toBe(3);
      await expect(trainer.next()).rejects.toThrow(/finished/);
      for (const row of rows) {
        for (const key of [
          "charts/success_rate",
          "charts/return_mean",
          "charts/length_mean",
          "losses/policy_loss",
          "losses/entropy",
          "losses/grad_norm",
        ]) {
          expect(Number.isFinite(row[key]), `${key} = ${row[key]}`).toBe(true);
        }
        expect(row["charts/length_mean"]).toBeLessThanOrEqual(80);
        if (model === "sparsenet" && algorithm === "sgprop") {
          expect(Number.isFinite(row["losses/sg_loss"])).toBe(true);
          expect(row["sgprop/theta_mean"]).toBeGreaterThanOrEqual(0);
          expect(row["sgprop/theta_mean"]).toBeLessThanOrEqual(1);
        }
      }
      expect(rows.map((r) => r["charts/batch"])).toEqual([1, 2, 3]);
      trainer.dispose();
    },
  );
});

describe("POPGym trainer determinism", () => {
  it.each(MODELS)(
    "$model $algorithm: same seed gives the same metrics, and a checkpoint resumes bit for bit",
    async ({ model, algorithm }) => {
      const opts = {
        ...SMALL,
        model,
        algorithm,
        backend: "cpu" as const,
        seed: 5,
        env: model === "lstm" ? ("explore" as const) : ("escape" as const),
      };
      const a = await createPopgymTrainer(opts);
      const full = [
        stable((await a.next()).train),
        stable((await a.next()).train),
        stable((await a.next()).train),
      ];
      a.dispose();
      const b = await createPopgymTrainer(opts);
      expect(stable((await b.next()).train)).toEqual(full[0]);
      const dir = mkdtempSync(join(tmpdir(), "sgprop-popgym-"));
      dirs.push(dir);
      await b.saveCheckpoint(join(dir, "ckpt"));
      b.dispose();
      const c = await restorePopgymTrainer(join(dir, "ckpt"), { envFactory: SMALL.envFactory });
      expect(c.completed).toBe(1);
      expect(stable((await c.next()).train)).toEqual(full[1]);
      expect(stable((await c.next()).train)).toEqual(full[2]);
      c.dispose();
      const other = await createPopgymTrainer({ ...opts, seed: 6 });
      expect(stable((await other.next()).train)).not.toEqual(full[0]);
      other.dispose();
    },
  );
});

describe("trainPopgym", () => {
  it("reports every batch through the callback", async () => {
    const seen: number[] = [];
    const rows = await trainPopgym(
      { ...SMALL, model: "sparsenet", algorithm: "sgprop", backend: "cpu", batches: 2 },
      (row, k) => {
        seen.push(k);
        expect(row["charts/batch"]).toBe(k);
      },
    );
    expect(seen).toEqual([1, 2]);
    expect(rows).toHaveLength(2);
  });
});

describe("bad input", () => {
  it("rejects impossible configurations with the offending value", () => {
    expect(() => resolvePopgymOptions({ rolloutLength: 81 })).toThrow(
      /rolloutLength 81 exceeds episodeLength 80/,
    );
    expect(() => resolvePopgymOptions({ env: "explore", rolloutLength: 41 })).toThrow(/episodeLength 40/);
    expect(() => resolvePopgymOptions({ model: "gru", algorithm: "sgprop" })).toThrow(
      /needs model "sparsenet"/,
    );
    expect(() => resolvePopgymOptions({ numInputNeurons: 200 })).toThrow(
      /numInputNeurons 200 exceeds width 128/,
    );
    expect(() => resolvePopgymOptions({ numEnvs: 0 })).toThrow(RecurrentConfigError);
    expect(() => resolvePopgymOptions({ mazeDims: [7, 6] })).toThrow(/mazeDims/);
    expect(() => resolvePopgymOptions({ thetaInit: 1.5 })).toThrow(/thetaInit/);
    expect(resolvePopgymOptions({ env: "explore" }).rolloutLength).toBe(40);
  });

  it("rejects observations of the wrong width and actions outside the space", () => {
    const hyper = { gamma: 0.95, entropyCoef: 0.01 };
    const good = randomBatch(1, 3, 2, TINY.obsDim, TINY.numActions, [2, 2]);
    expect(() => lossTensors(good, TINY.obsDim + 1, TINY.numActions, hyper)).toThrow(RecurrentInputError);
    expect(() => lossTensors(good, TINY.obsDim + 1, TINY.numActions, hyper)).toThrow(/obsDim 6/);
    const badAction = { ...good, actions: Int32Array.from([0, 1, 2, 3, 0, 1]) };
    expect(() => lossTensors(badAction, TINY.obsDim, TINY.numActions, hyper)).toThrow(
      /action 3 at row 3 is outside 0..2/,
    );
    const policy = tinySparseNet(1);
    const obs = tf.zeros([2, TINY.obsDim + 2]) as tf.Tensor2D;
    expect(() => policy.embed(obs)).toThrow(/observation width 7 does not match the policy's obsDim 5/);
    obs.dispose();
    policy.dispose();
  });

  it("refuses to resume a checkpoint with a different model", async () => {
    const t = await createPopgymTrainer({
      ...SMALL,
      model: "gru",
      algorithm: "backprop",
      backend: "cpu",
      batches: 1,
    });
    const dir = mkdtempSync(join(tmpdir(), "sgprop-popgym-"));
    dirs.push(dir);
    await t.saveCheckpoint(join(dir, "ckpt"));
    t.dispose();
    await expect(restorePopgymTrainer(join(dir, "ckpt"), { model: "lstm" })).rejects.toThrow(/model = "gru"/);
    await expect(restorePopgymTrainer(join(dir, "missing"))).rejects.toThrow(/bad checkpoint/);
    await expect(restorePopgymTrainer(join(dir, "ckpt"))).rejects.toThrow(/envFactory is required/);
  });

  it("needs an env factory (agents does not depend on @sgprop/popgym)", async () => {
    await expect(createPopgymTrainer({ ...SMALL, envFactory: undefined, backend: "cpu" })).rejects.toThrow(
      RecurrentConfigError,
    );
    await expect(
      createPopgymTrainer({
        ...SMALL,
        envFactory: () => new LabyrinthVectorEnv({ kind: "escape", numEnvs: 1 }),
        backend: "cpu",
      }),
    ).rejects.toThrow(/returned 1 envs, expected 4/);
  });
});
