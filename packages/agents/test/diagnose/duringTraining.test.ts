import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LabyrinthVectorEnv } from "@sgprop/popgym";
import { describe, expect, it } from "vitest";
import type { BanditTrainOptions } from "../../src/bandit/options.js";
import { createBanditTrainer, restoreBanditTrainer } from "../../src/bandit/trainer.js";
import { CHECKPOINT_TENSORS_FILE } from "../../src/checkpoint.js";
import type { PopgymTrainOptions } from "../../src/reinforce/options.js";
import { createPopgymTrainer, restorePopgymTrainer } from "../../src/reinforce/trainer.js";
import type { TrainerRows } from "../../src/trainer.js";
import { useBackend } from "../helpers.js";
import { SyntheticBandit, TINY_SPARSE } from "../support/syntheticBandit.js";

const opts = (duringTraining: number): Partial<BanditTrainOptions> => ({
  ...TINY_SPARSE,
  steps: 8,
  numEvals: 2,
  seed: 3,
  duringTraining,
  duringTrainingPool: 48,
  bandit: (o) => new SyntheticBandit({ seed: o.seed, pFlip: o.pFlip }),
});

/** The columns of a row that start (or not) with `prefix`, timings dropped. */
function pick(rows: TrainerRows[], diagnose: boolean): unknown[] {
  return rows.map((r) => ({
    train: Object.fromEntries(
      Object.entries(r.train).filter(
        ([k]) => !k.startsWith("perf/") && k.startsWith("diagnose/") === diagnose,
      ),
    ),
    eval: diagnose ? undefined : r.eval,
  }));
}

/** Runs `n` steps with a checkpoint after `at` (then continues from it); returns rows and the checkpoint's tensors. */
async function run(o: Partial<BanditTrainOptions>, at: number, n: number) {
  const t = await createBanditTrainer(o);
  const rows: TrainerRows[] = [];
  for (let i = 0; i < at; i++) rows.push(await t.next());
  const dir = join(await mkdtemp(join(tmpdir(), "sgprop-diag-")), "ckpt");
  await t.saveCheckpoint(dir);
  t.dispose();
  const resumed = await restoreBanditTrainer(dir, { bandit: o.bandit });
  for (let i = at; i < n; i++) rows.push(await resumed.next());
  resumed.dispose();
  return { rows, tensors: await readFile(join(dir, CHECKPOINT_TENSORS_FILE)) };
}

describe("--during-training", () => {
  it("adds diagnose/ columns at steps 1, K, 2K, ... and changes no training number or checkpoint", async () => {
    await useBackend("cpu");
    const plain = await run(opts(0), 3, 8);
    const diagnosed = await run(opts(3), 3, 8);
    expect(pick(diagnosed.rows, false)).toEqual(pick(plain.rows, false));
    expect(Buffer.compare(diagnosed.tensors, plain.tensors)).toBe(0);
    const steps = diagnosed.rows
      .filter((r) => "diagnose/mse_backprop" in r.train)
      .map((r) => r.train["charts/step"]);
    expect(steps).toEqual([1, 3, 6]);
    expect(plain.rows.some((r) => Object.keys(r.train).some((k) => k.startsWith("diagnose/")))).toBe(false);
    for (const r of diagnosed.rows.filter((x) => "diagnose/mse_backprop" in x.train)) {
      for (const [k, v] of Object.entries(r.train))
        if (k.startsWith("diagnose/")) expect(Number.isFinite(v), k).toBe(true);
      expect(r.train["diagnose/mse_backprop"]).toBeGreaterThan(0);
      // The grid includes theta = 1 (the live gradient) and theta = 0 (synthetic): the best is no worse.
      expect(r.train["diagnose/mse_best"]).toBeLessThanOrEqual(
        (r.train["diagnose/mse_synthetic"] as number) * (1 + 1e-12),
      );
    }
    // Resuming does not change the diagnosis either: its streams are named by the step.
    const straight = await run(opts(3), 8, 8);
    expect(pick(diagnosed.rows, true)).toEqual(pick(straight.rows, true));
  });

  it("POPGym SparseNet: diagnose/ columns after batches 1, K, ...; training rows and checkpoints unchanged", async () => {
    await useBackend("cpu");
    const popgym = (duringTraining: number): Partial<PopgymTrainOptions> => ({
      envFactory: (spec) => new LabyrinthVectorEnv(spec),
      numEnvs: 4,
      batches: 4,
      width: 12,
      neuronDim: 3,
      numParents: 3,
      numSlots: 2,
      numInputNeurons: 4,
      embedHidden: 16,
      embedDim: 16,
      actorSlots: 2,
      learningRate: 3e-3,
      seed: 2,
      duringTraining,
      duringTrainingEpisodes: 6,
    });
    const runPopgym = async (o: Partial<PopgymTrainOptions>) => {
      const t = await createPopgymTrainer(o);
      const rows: TrainerRows[] = [await t.next(), await t.next()];
      const dir = join(await mkdtemp(join(tmpdir(), "sgprop-diag-")), "ckpt");
      await t.saveCheckpoint(dir);
      t.dispose();
      const resumed = await restorePopgymTrainer(dir, { envFactory: o.envFactory });
      rows.push(await resumed.next(), await resumed.next());
      resumed.dispose();
      return { rows, tensors: await readFile(join(dir, CHECKPOINT_TENSORS_FILE)) };
    };
    const plain = await runPopgym(popgym(0));
    const diagnosed = await runPopgym(popgym(2));
    expect(pick(diagnosed.rows, false)).toEqual(pick(plain.rows, false));
    expect(Buffer.compare(diagnosed.tensors, plain.tensors)).toBe(0);
    const batches = diagnosed.rows
      .filter((r) => "diagnose/mse_current" in r.train)
      .map((r) => r.train["charts/batch"]);
    expect(batches).toEqual([1, 2, 4]);
    for (const r of diagnosed.rows.filter((x) => "diagnose/mse_current" in x.train))
      expect(r.train["diagnose/mse_backprop"]).toBeGreaterThan(0);
  });
});
