import { Rng } from "@sgprop/gym";
import * as tf from "@tensorflow/tfjs-core";
import { ensureBackend, selectBackend } from "../backend.js";
import {
  CheckpointFormatError,
  type NamedTensorData,
  readCheckpointDir,
  writeCheckpointDir,
} from "../checkpoint.js";
import { diagnosedStep, popgymDuringTrainingDiagnosis } from "../diagnose/duringTraining.js";
import type { Adam, AdamState } from "../optim/adam.js";
import { RnnLearner, SparseNetLearner, type UpdateHyper, type UpdateStats } from "../recurrent/learner.js";
import { type ParamMap, RecurrentConfigError } from "../recurrent/params.js";
import { RnnPolicy, withTransposedWeights } from "../recurrent/rnn.js";
import { RNN_PARAMS, type RnnState } from "../recurrent/rnnConfig.js";
import { allocTrace, type CoreTrace } from "../recurrent/sparseCore.js";
import { coreSizes } from "../recurrent/sparseMaps.js";
import { type RolloutMaps, SparseNetPolicy } from "../recurrent/sparsenet.js";
import { SPARSENET_POLICY_PARAMS, SPARSENET_SG_PARAMS } from "../recurrent/sparsenetConfig.js";
import { POPGYM_TRAINER_STREAMS, trainerStreams } from "../streams.js";
import { type MetricsRow, NonFiniteError, type Trainer, type TrainerRows } from "../trainer.js";
import {
  type LabyrinthEnvFactory,
  NETWORK_SIZE_KEYS,
  type PopgymTrainOptions,
  resolvePopgymOptions,
} from "./options.js";
import { percentile } from "./returns.js";
import { collectRollout, type PolicyStepper, truncateBatch, type VectorLabyrinth } from "./rollout.js";

/**
 * Rollout stepper of the recurrent SparseNet: maps read once per batch; every step's core trace is
 * kept ([T*B] rows), so that the update can reuse the forward pass it already did.
 */
export class SparseNetStepper implements PolicyStepper {
  private maps: RolloutMaps | undefined;
  private trace: CoreTrace | undefined;
  private steps = 0;
  private numEnvs = 0;
  constructor(private readonly policy: SparseNetPolicy) {}
  begin(numEnvs: number, maxSteps: number): void {
    this.maps = this.policy.rolloutMaps();
    const rows = numEnvs * maxSteps;
    if (this.trace === undefined || this.trace.rows !== rows)
      this.trace = allocTrace(coreSizes(this.policy.dims), rows);
    this.steps = 0;
    this.numEnvs = numEnvs;
  }
  act(obs: Float32Array, starts: Float32Array): Float32Array {
    const b = this.numEnvs;
    const trace = this.trace as CoreTrace;
    const d = this.policy.dims;
    const t = this.steps;
    // At t = 0 every env starts, so the (zeroed) previous state is never read.
    const hPrev = t === 0 ? this.policy.zeroState(b) : trace.h;
    const offset = t === 0 ? 0 : (t - 1) * b * d.W * d.q;
    const logits = this.policy.step(this.maps as RolloutMaps, hPrev, offset, starts, obs, trace, t * b);
    this.steps++;
    return logits;
  }
  end(): void {
    this.maps = undefined;
  }
  /** The last batch's forward trace and its number of steps (valid until the next `begin`). */
  recorded(): { trace: CoreTrace; steps: number } | undefined {
    return this.trace !== undefined && this.steps > 0 ? { trace: this.trace, steps: this.steps } : undefined;
  }
}

/** Rollout stepper of a GRU/LSTM policy (weights transposed once per batch). */
export class RnnStepper implements PolicyStepper {
  private state: RnnState | undefined;
  private cached: Record<string, tf.Tensor> | undefined;
  constructor(private readonly policy: RnnPolicy) {}
  begin(numEnvs: number, _maxSteps: number): void {
    this.state = this.policy.zeroState(numEnvs);
    this.cached = withTransposedWeights(this.policy.record());
  }
  act(obs: Float32Array, starts: Float32Array): Float32Array {
    const b = starts.length;
    const o = tf.tensor2d(obs, [b, obs.length / b]);
    const s = tf.tensor1d(starts);
    const out = this.policy.step(this.state as RnnState, s, o, this.cached);
    o.dispose();
    s.dispose();
    this.disposeState();
    this.state = out.state;
    const logits = out.logits.dataSync() as Float32Array;
    out.logits.dispose();
    return logits;
  }
  private disposeState(): void {
    this.state?.h.dispose();
    this.state?.c?.dispose();
  }
  end(): void {
    this.disposeState();
    this.state = undefined;
    if (this.cached !== undefined) {
      for (const [name, t] of Object.entries(this.cached)) if (name.endsWith("^T")) t.dispose();
    }
    this.cached = undefined;
  }
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

type Resolved = ReturnType<typeof resolvePopgymOptions>;

interface TrainerMeta {
  format: "sgprop-popgym-trainer/1";
  options: Resolved;
  completed: number;
  actionRng: number[];
  rewardRng: number[];
  resetCounts: number[];
  theta?: number[];
  adamSteps: Record<string, Record<string, number>>;
}

function hyperOf(o: Resolved): UpdateHyper {
  return {
    algorithm: o.algorithm,
    learningRate: o.learningRate,
    sgLearningRate: o.sgLearningRate,
    maxGradNorm: o.maxGradNorm,
    gamma: o.gamma,
    entropyCoef: o.entropyCoef,
    normalizeReturns: o.normalizeReturns,
    adaptiveTheta: o.adaptiveTheta,
    thetaMomentum: o.thetaMomentum,
    thetaRho: o.thetaRho,
    sgMode: o.sgMode,
    ...(o.sgRule !== undefined ? { sgRule: o.sgRule } : {}),
    ...(o.sgLambda !== undefined ? { sgLambda: o.sgLambda } : {}),
  };
}

function f32(t: tf.Tensor): NamedTensorData {
  return { dtype: "F32", shape: t.shape, data: Float32Array.from(t.dataSync()) };
}

/** Builds the run's batched labyrinth through the application's factory (see `envFactory`). */
function makeEnv(o: Resolved, numEnvs: number): VectorLabyrinth {
  if (o.envFactory === undefined) {
    throw new RecurrentConfigError(
      "envFactory is required: pass (spec) => new LabyrinthVectorEnv(spec) from @sgprop/popgym (agents does not depend on the environment packages)",
    );
  }
  const env = o.envFactory({
    kind: o.env,
    numEnvs,
    mazeDims: o.mazeDims,
    episodeLength: o.episodeLength,
    generator: o.mazeGenerator,
  });
  if (env.numEnvs !== numEnvs) {
    throw new RecurrentConfigError(`envFactory returned ${env.numEnvs} envs, expected ${numEnvs}`);
  }
  return env;
}

/**
 * REINFORCE on a POPGym labyrinth (SPEC 5) for the recurrent SparseNet (sgprop or backprop), GRU
 * or LSTM, one batch per {@link next}. Seeding: the policy's init, the action sampler and the
 * explore rewards are the named streams of `streams.ts`; env k's t-th reset passes the env the
 * seed seed + k + t * numEnvs (the reference's EnvBatch), which the "reference" maze generator
 * turns into POPGym's own maze (CPython/numpy replay) and the "default" one into `Rng.fromSeed`.
 */
export class PopgymTrainer implements Trainer {
  private done = 0;
  private readonly env: VectorLabyrinth;
  private readonly stepper: PolicyStepper;

  private constructor(
    readonly options: Resolved,
    private readonly sparse: SparseNetLearner | undefined,
    private readonly rnn: RnnLearner | undefined,
    private actionRng: Rng,
    private rewardRng: Rng,
    private readonly resetCounts: number[],
  ) {
    this.env = makeEnv(options, options.numEnvs);
    if (this.env.obsDim !== this.obsDimOf())
      throw new Error("observation width mismatch between env and policy");
    this.stepper =
      sparse !== undefined ? new SparseNetStepper(sparse.policy) : new RnnStepper((rnn as RnnLearner).policy);
  }

  private obsDimOf(): number {
    return this.sparse !== undefined
      ? this.sparse.policy.config.obsDim
      : (this.rnn as RnnLearner).policy.config.obsDim;
  }

  /** Builds a fresh run (selects the backend first). */
  static async create(partial: Partial<PopgymTrainOptions>): Promise<PopgymTrainer> {
    const o = resolvePopgymOptions(partial);
    await (o.backend !== undefined ? selectBackend(o.backend) : ensureBackend());
    const streams = trainerStreams(o.seed, POPGYM_TRAINER_STREAMS);
    const initRng = streams.init;
    const probe = makeEnv(o, 1);
    const obsDim = probe.obsDim;
    const numActions = probe.numActions;
    const hyper = hyperOf(o);
    let sparse: SparseNetLearner | undefined;
    let rnn: RnnLearner | undefined;
    if (o.model === "sparsenet") {
      const policy = SparseNetPolicy.create({ obsDim, numActions, ...o }, initRng);
      sparse = new SparseNetLearner(policy, hyper, o.algorithm === "sgprop" ? o.thetaInit : 1);
    } else {
      const policy = RnnPolicy.create({ cell: o.model, obsDim, numActions, ...o }, initRng);
      rnn = new RnnLearner(policy, hyper);
    }
    return new PopgymTrainer(
      o,
      sparse,
      rnn,
      streams.actions,
      streams.exploreRewards,
      new Array(o.numEnvs).fill(0),
    );
  }

  /** Continues a run from a folder written by {@link saveCheckpoint}; `overrides` may change e.g. `batches` or `backend`. */
  static async restore(dir: string, overrides: Partial<PopgymTrainOptions> = {}): Promise<PopgymTrainer> {
    const { tensors, meta: rawMeta } = await readCheckpointDir(dir);
    const meta = rawMeta as TrainerMeta;
    if (meta?.format !== "sgprop-popgym-trainer/1") {
      throw new CheckpointFormatError(
        dir,
        `not a POPGym trainer checkpoint (format ${JSON.stringify(meta?.format)})`,
      );
    }
    const fixed = ["model", "algorithm", "env", "numEnvs", "mazeDims", ...NETWORK_SIZE_KEYS] as const;
    for (const key of fixed) {
      const v = overrides[key];
      if (v !== undefined && JSON.stringify(v) !== JSON.stringify(meta.options[key])) {
        throw new CheckpointFormatError(
          dir,
          `checkpoint has ${key} = ${JSON.stringify(meta.options[key])}, cannot resume with ${JSON.stringify(v)}`,
        );
      }
    }
    const o = resolvePopgymOptions({
      ...meta.options,
      ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
    });
    await (o.backend !== undefined ? selectBackend(o.backend) : ensureBackend());
    const tensor = (name: string): tf.Tensor => {
      const t = tensors[name];
      if (t === undefined) throw new CheckpointFormatError(dir, `tensor "${name}" missing`);
      return tf.tensor(t.data as Float32Array, [...t.shape], "float32");
    };
    const variables = (prefix: string, names: readonly string[]): ParamMap =>
      new Map(names.map((n) => [n, tf.variable(tensor(`${prefix}${n}`), true, undefined, "float32")]));
    const hyper = hyperOf(o);
    const probe = makeEnv(o, 1);
    const base = { obsDim: probe.obsDim, numActions: probe.numActions };
    // Canonical order (the file stores names sorted): it fixes the summation order of the
    // clipping norm, so a resumed run continues bit for bit.
    const paramNames: readonly string[] =
      o.model === "sparsenet" ? [...SPARSENET_POLICY_PARAMS, ...SPARSENET_SG_PARAMS] : RNN_PARAMS;
    let sparse: SparseNetLearner | undefined;
    let rnn: RnnLearner | undefined;
    // tf.variable keeps its initial value alive: build inside a tidy so those copies are released.
    tf.tidy(() => {
      const params = variables("param.", paramNames);
      if (o.model === "sparsenet") {
        const parent = tensors.parentIdx;
        if (parent === undefined) throw new CheckpointFormatError(dir, "parentIdx missing");
        const policy = new SparseNetPolicy({ ...base, ...o }, params, Int32Array.from(parent.data));
        sparse = new SparseNetLearner(policy, hyper, meta.theta ?? 1);
      } else {
        rnn = new RnnLearner(new RnnPolicy({ cell: o.model, ...base, ...o }, params), hyper);
      }
    });
    const adams: [string, Adam | undefined][] =
      sparse !== undefined
        ? [
            ["policy", sparse.policyAdam],
            ["sg", sparse.sgAdam],
          ]
        : [["policy", rnn?.adam]];
    for (const [key, adam] of adams) {
      if (adam === undefined) continue;
      const steps = meta.adamSteps[key];
      if (steps === undefined) throw new CheckpointFormatError(dir, `optimiser state "${key}" missing`);
      const m: Record<string, tf.Tensor> = {};
      const v: Record<string, tf.Tensor> = {};
      for (const n of adam.names) {
        m[n] = tensor(`optim.${key}.m.${n}`);
        v[n] = tensor(`optim.${key}.v.${n}`);
      }
      const state: AdamState = { steps, m, v };
      adam.setState(state);
      for (const t of [...Object.values(m), ...Object.values(v)]) t.dispose();
    }
    const trainer = new PopgymTrainer(
      o,
      sparse,
      rnn,
      Rng.fromState(meta.actionRng),
      Rng.fromState(meta.rewardRng),
      [...meta.resetCounts],
    );
    trainer.done = meta.completed;
    return trainer;
  }

  get completed(): number {
    return this.done;
  }

  get total(): number {
    return this.options.batches;
  }

  /** The model's per-neuron theta (SparseNet), else undefined. */
  get theta(): Float64Array | undefined {
    return this.sparse?.theta;
  }

  async next(): Promise<TrainerRows> {
    const o = this.options;
    if (this.done >= o.batches) throw new RangeError(`run finished: ${this.done}/${o.batches} batches`);
    const n = o.numEnvs;
    const seeds = this.resetCounts.map((count, k) => o.seed + k + count * n);
    for (let k = 0; k < n; k++) this.resetCounts[k] = (this.resetCounts[k] as number) + 1;
    const t0 = performance.now();
    const c0 = cpuSeconds();
    const roll = collectRollout(
      this.env,
      this.stepper,
      seeds,
      o.rolloutLength,
      this.actionRng,
      o.env === "explore"
        ? { zeroProb: o.exploreRewardZeroProb, episodeLength: o.episodeLength, rng: this.rewardRng }
        : undefined,
    );
    const t1 = performance.now();
    const c1 = cpuSeconds();
    let stats: UpdateStats;
    if (this.sparse !== undefined) {
      // Plain backprop gives exactly the same gradients without the all-invalid tail; sgprop mixes
      // predictions there too, so it keeps the reference's full rollout length.
      const batch = o.algorithm === "sgprop" ? roll.batch : truncateBatch(roll.batch, roll.stepsTaken);
      const forward = (this.stepper as SparseNetStepper).recorded();
      stats = this.sparse.update(batch, forward !== undefined ? { forward } : {});
    } else {
      stats = (this.rnn as RnnLearner).update(truncateBatch(roll.batch, roll.stepsTaken));
    }
    const t2 = performance.now();
    const c2 = cpuSeconds();
    this.done++;
    for (const [name, value] of Object.entries(stats)) {
      if (name !== "sgLoss" && name.endsWith("Loss") && !Number.isFinite(value)) {
        throw new NonFiniteError(this.done, name);
      }
    }
    const theta = this.sparse?.theta;
    const thetaList = theta !== undefined ? Array.from(theta) : [];
    const mean = (xs: readonly number[]) =>
      xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
    const row: MetricsRow = {
      "charts/batch": this.done,
      "charts/success_rate": mean(roll.successes.map((s) => (s ? 1 : 0))),
      "charts/return_mean": mean(roll.episodeReturns),
      "charts/return_p10": percentile(roll.episodeReturns, 0.1),
      "charts/return_p50": percentile(roll.episodeReturns, 0.5),
      "charts/return_p90": percentile(roll.episodeReturns, 0.9),
      "charts/length_mean": mean(roll.episodeLengths),
      "charts/length_p50": percentile(roll.episodeLengths, 0.5),
      "losses/policy_loss": stats.policyLoss,
      "losses/entropy": stats.entropyLoss,
      "losses/total_loss": stats.totalLoss,
      "losses/grad_norm": stats.gradNorm,
      "losses/sg_loss": stats.sgLoss,
      "sgprop/true_grad_norm": stats.trueGradNorm,
      "sgprop/mixed_grad_norm": stats.mixedGradNorm,
      "sgprop/pred_grad_norm": stats.predGradNorm,
      "sgprop/theta_p10": percentile(thetaList, 0.1),
      "sgprop/theta_p50": percentile(thetaList, 0.5),
      "sgprop/theta_p90": percentile(thetaList, 0.9),
      "sgprop/theta_mean": mean(thetaList),
      "perf/rollout_seconds": (t1 - t0) / 1000,
      "perf/update_seconds": (t2 - t1) / 1000,
      // CPU time of this process: close to the wall time on an idle machine, robust to sharing.
      "perf/rollout_cpu_seconds": c1 - c0,
      "perf/update_cpu_seconds": c2 - c1,
    };
    if (this.sparse === undefined || !diagnosedStep(this.done, o.duringTraining)) return { train: row };
    const run = { ...o, envFactory: o.envFactory as LabyrinthEnvFactory };
    return {
      train: { ...row, ...popgymDuringTrainingDiagnosis(this.sparse.policy, thetaList, run, this.done) },
    };
  }

  async saveCheckpoint(dir: string): Promise<void> {
    const tensors: Record<string, NamedTensorData> = {};
    const adamSteps: Record<string, Record<string, number>> = {};
    const params =
      this.sparse !== undefined ? this.sparse.policy.params : (this.rnn as RnnLearner).policy.params;
    for (const [name, t] of params) tensors[`param.${name}`] = f32(t);
    const adams: [string, Adam | undefined][] =
      this.sparse !== undefined
        ? [
            ["policy", this.sparse.policyAdam],
            ["sg", this.sparse.sgAdam],
          ]
        : [["policy", this.rnn?.adam]];
    for (const [key, adam] of adams) {
      if (adam === undefined) continue;
      const s = adam.getState();
      adamSteps[key] = { ...s.steps };
      for (const [n, t] of Object.entries(s.m)) tensors[`optim.${key}.m.${n}`] = f32(t);
      for (const [n, t] of Object.entries(s.v)) tensors[`optim.${key}.v.${n}`] = f32(t);
      for (const t of [...Object.values(s.m), ...Object.values(s.v)]) t.dispose();
    }
    if (this.sparse !== undefined) {
      tensors.parentIdx = {
        dtype: "I32",
        shape: [this.sparse.policy.dims.W, this.sparse.policy.dims.P],
        data: Int32Array.from(this.sparse.policy.parentIdx),
      };
      tensors.theta = {
        dtype: "F64",
        shape: [this.sparse.theta.length],
        data: Float64Array.from(this.sparse.theta),
      };
    }
    const meta: TrainerMeta = {
      format: "sgprop-popgym-trainer/1",
      options: this.options,
      completed: this.done,
      actionRng: this.actionRng.state(),
      rewardRng: this.rewardRng.state(),
      resetCounts: [...this.resetCounts],
      ...(this.sparse !== undefined ? { theta: Array.from(this.sparse.theta) } : {}),
      adamSteps,
    };
    await writeCheckpointDir(dir, tensors, meta);
  }

  dispose(): void {
    this.stepper.end();
    if (this.sparse !== undefined) {
      this.sparse.dispose();
      this.sparse.policy.dispose();
    }
    if (this.rnn !== undefined) {
      this.rnn.dispose();
      this.rnn.policy.dispose();
    }
  }
}

/** A fresh POPGym REINFORCE run (Trainer contract); missing options take the paper's defaults. */
export async function createPopgymTrainer(opts: Partial<PopgymTrainOptions> = {}): Promise<Trainer> {
  return PopgymTrainer.create(opts);
}

/** Resumes a run saved with `saveCheckpoint`; continues bit for bit on the same backend. */
export async function restorePopgymTrainer(
  checkpointDir: string,
  opts: Partial<PopgymTrainOptions> = {},
): Promise<Trainer> {
  return PopgymTrainer.restore(checkpointDir, opts);
}

/**
 * Runs a whole POPGym run in-process (CleanRL style): creates the trainer, calls `onBatch` with
 * every batch's metrics row, and returns all rows. apps/train drives the same trainer itself.
 */
export async function trainPopgym(
  opts: Partial<PopgymTrainOptions> = {},
  onBatch?: (row: MetricsRow, batch: number) => void | Promise<void>,
): Promise<MetricsRow[]> {
  const trainer = await PopgymTrainer.create(opts);
  const rows: MetricsRow[] = [];
  try {
    while (trainer.completed < trainer.total) {
      const { train } = await trainer.next();
      rows.push(train);
      await onBatch?.(train, trainer.completed);
    }
  } finally {
    trainer.dispose();
  }
  return rows;
}
