import { existsSync, readFileSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Rng } from "@sgprop/gym";
import type { TrainKind } from "../options/presets.js";
import type { MetricsRow, Trainer, TrainerFactory, TrainerOptions, TrainerRows } from "./types.js";

/**
 * A deterministic stand-in for the @sgprop/agents trainers (`SGPROP_TRAINER=fake`): it follows the
 * Trainer contract (same metric names, evaluation schedule, checkpoint/restore continuing the same
 * random stream) with cheap synthetic learning curves, so the harness can be tested in milliseconds.
 * `SGPROP_FAKE_UNIT_MS` slows each unit down (crash tests need time to kill a run mid-way), by
 * spinning the CPU instead of sleeping when `SGPROP_FAKE_BUSY=1` (like a real trainer, it then
 * blocks its thread's event loop: the queue tests check that this does not stall job locks);
 * `SGPROP_FAKE_FAIL_AT=n` makes unit n throw, `SGPROP_FAKE_FAIL_SEED=s` makes the creation of a
 * run with seed s throw (failure handling tests).
 */
export class FakeTrainer implements Trainer {
  private constructor(
    private readonly kind: TrainKind,
    private readonly options: TrainerOptions,
    private rng: Rng,
    private done: number,
    private level: number,
  ) {}

  static create(kind: TrainKind, options: TrainerOptions): FakeTrainer {
    const failSeed = process.env.SGPROP_FAKE_FAIL_SEED;
    if (failSeed !== undefined && Number(failSeed) === Number(options.seed)) {
      throw new Error(`simulated start-up failure of the run with seed ${failSeed}`);
    }
    if (kind === "bandit" && typeof options.dataDir === "string" && !existsSync(options.dataDir)) {
      throw new Error(`MNIST data folder ${JSON.stringify(options.dataDir)} does not exist`);
    }
    return new FakeTrainer(kind, options, Rng.fromSeed(Number(options.seed ?? 0)), 0, 0);
  }

  static restore(kind: TrainKind, dir: string, options: TrainerOptions): FakeTrainer {
    const state = JSON.parse(readFileSync(join(dir, "trainer.json"), "utf8")) as {
      kind: TrainKind;
      model: string;
      completed: number;
      level: number;
      rng: number[];
    };
    if (state.kind !== kind || state.model !== options.model) {
      throw new Error(
        `checkpoint holds a ${state.kind} ${state.model} model, not ${kind} ${String(options.model)}`,
      );
    }
    return new FakeTrainer(kind, options, Rng.fromState(state.rng), state.completed, state.level);
  }

  get completed(): number {
    return this.done;
  }

  get total(): number {
    return Number(this.kind === "popgym" ? this.options.batches : this.options.steps);
  }

  async next(): Promise<TrainerRows> {
    if (this.done >= this.total) throw new Error(`run finished: ${this.done}/${this.total} units`);
    if (Number(process.env.SGPROP_FAKE_FAIL_AT ?? 0) === this.done + 1) {
      throw new Error(`simulated failure at unit ${this.done + 1}`);
    }
    const delay = Number(process.env.SGPROP_FAKE_UNIT_MS ?? 0);
    const started = performance.now();
    if (delay > 0 && process.env.SGPROP_FAKE_BUSY === "1") {
      while (performance.now() - started < delay) {
        // spin: CPU-bound like a real unit of training
      }
    } else if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    const lr = Number(this.options.learningRate);
    this.level += (1 - this.level) * Math.min(0.5, lr * 20) * this.rng.float();
    this.done += 1;
    const noise = () => 0.1 * this.rng.normal();
    const seconds = (performance.now() - started) / 1000;
    if (this.kind === "popgym") {
      const ret = -1 + 1.6 * this.level + noise();
      const theta = this.options.algorithm === "backprop" ? 1 : 1 - 0.3 * this.level * this.rng.float();
      return {
        train: {
          "charts/batch": this.done,
          "charts/success_rate": Math.max(0, Math.min(1, this.level + noise())),
          "charts/return_mean": ret,
          "charts/return_p10": ret - 0.3,
          "charts/return_p50": ret,
          "charts/return_p90": ret + 0.3,
          "charts/length_mean": 80 * (1 - 0.5 * this.level),
          "charts/length_p50": 80 * (1 - 0.5 * this.level),
          "losses/policy_loss": noise(),
          "losses/entropy": 1.6 * (1 - 0.5 * this.level),
          "losses/total_loss": noise(),
          "losses/grad_norm": Math.abs(1 + noise()),
          "losses/sg_loss": Math.abs(noise()),
          "sgprop/true_grad_norm": Math.abs(1 + noise()),
          "sgprop/mixed_grad_norm": Math.abs(1 + noise()),
          "sgprop/pred_grad_norm": Math.abs(noise()),
          "sgprop/theta_p10": theta - 0.05,
          "sgprop/theta_p50": theta,
          "sgprop/theta_p90": Math.min(1, theta + 0.05),
          "sgprop/theta_mean": theta,
          "perf/rollout_seconds": seconds / 2,
          "perf/update_seconds": seconds / 2,
        },
      };
    }
    const layers = Number(this.options.numLayers ?? 1);
    const train: Record<string, number> = {
      "charts/step": this.done,
      "charts/batch_reward": Math.max(0, Math.min(1, 0.1 + 0.5 * this.level + noise())),
      "losses/policy_loss": noise(),
    };
    let sgSum = 0;
    for (let l = 0; l < layers; l++) {
      const v = Math.abs(noise());
      train[`losses/sg_loss_${l}`] = v;
      sgSum += v;
    }
    train["losses/sg_loss"] = sgSum;
    for (let l = 0; l < layers; l++) {
      train[`sgprop/theta_mean_${l}`] =
        this.options.algorithm === "backprop" ? 1 : 0.9 - (0.1 * this.level * (l + 1)) / layers;
    }
    train["sgprop/true_grad_norm"] = Math.abs(1 + noise());
    train["sgprop/synthetic_grad_norm"] = Math.abs(1 + noise());
    train["perf/step_seconds"] = seconds;
    const rows: { train: MetricsRow; eval?: MetricsRow } = { train };
    if (banditEvalSteps(this.total, Number(this.options.numEvals ?? 0)).includes(this.done)) {
      rows.eval = {
        "charts/step": this.done,
        "eval/reward": Math.min(1, 0.1 + 0.8 * this.level + 0.01 * this.rng.normal()),
      };
    }
    return rows;
  }

  async saveCheckpoint(dir: string): Promise<void> {
    const tmp = `${dir}.tmp-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    const state = {
      kind: this.kind,
      model: this.options.model,
      completed: this.done,
      level: this.level,
      rng: this.rng.state(),
    };
    await writeFile(join(tmp, "trainer.json"), JSON.stringify(state));
    await mkdir(dirname(dir), { recursive: true });
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  }

  dispose(): void {}
}

/** The paper's evaluation steps: integer parts of `numEvals` evenly spaced points from 1 to `steps`. */
export function banditEvalSteps(steps: number, numEvals: number): number[] {
  if (numEvals <= 0) return [];
  if (numEvals === 1) return [1];
  return Array.from({ length: numEvals }, (_, i) => Math.floor(1 + (i * (steps - 1)) / (numEvals - 1)));
}

export function fakeTrainerFactory(kind: TrainKind): TrainerFactory {
  return {
    implementation: "fake",
    create: async (options) => FakeTrainer.create(kind, options),
    restore: async (dir, options) => FakeTrainer.restore(kind, dir, options),
    backend: () => "none (fake trainer)",
  };
}
