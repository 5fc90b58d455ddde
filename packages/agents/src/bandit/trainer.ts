import { Rng } from "@sgprop/gym";
import * as tf from "@tensorflow/tfjs-core";
import { ensureBackend, selectBackend } from "../backend.js";
import { type NamedTensorData, readCheckpointDir, writeCheckpointDir } from "../checkpoint.js";
import { diagnosedStep, duringTrainingDiagnosis } from "../diagnose/duringTraining.js";
import { InvalidConfigError } from "../feedforward/errors.js";
import { Mlp, type MlpForward, mlpShapes } from "../feedforward/mlp.js";
import { backpropPolicyGradients, sgPhaseGradients, sgpropPolicyGradients } from "../feedforward/sgprop.js";
import { FeedforwardSparseNet } from "../feedforward/sparsenet.js";
import { type FeedforwardSparseNetConfig, feedforwardShapes } from "../feedforward/sparsenetConfig.js";
import type { FeedforwardForward } from "../feedforward/sparsenetTrace.js";
import { Adam, type AdamState } from "../optim/adam.js";
import { BANDIT_TRAINER_STREAMS, trainerStreams } from "../streams.js";
import { type MetricsRow, NonFiniteError, type Trainer, type TrainerRows } from "../trainer.js";
import { banditLoss } from "./loss.js";
import {
  type BanditTrainOptions,
  banditEvalSteps,
  type ResolvedBanditOptions,
  resolveBanditOptions,
} from "./options.js";
import { sampleActions } from "./sampling.js";
import type { BanditFactory, ContextBatchLike, ContextualBandit } from "./types.js";

/** The `format` of a bandit checkpoint's JSON sidecar. */
export const BANDIT_CHECKPOINT_FORMAT = "sgprop-bandit-trainer/1";

/** JSON sidecar of a bandit checkpoint. */
interface BanditCheckpointMeta {
  readonly format: string;
  readonly options: Omit<ResolvedBanditOptions, "bandit">;
  readonly completed: number;
  readonly actionRng: number[];
  readonly bandit: unknown;
  readonly policySteps: Record<string, number>;
  readonly sgSteps: Record<string, number>;
}

function resolveBandit(o: ResolvedBanditOptions): ContextualBandit {
  const b = o.bandit;
  if (b === undefined) {
    throw new InvalidConfigError(
      "bandit",
      "undefined",
      "a ContextualBandit or a factory, e.g. { bandit: (o) => new MnistBandit(o) } with MnistBandit from @sgprop/mnist-bandit",
    );
  }
  if (typeof b === "function") {
    return (b as BanditFactory)({
      seed: o.seed,
      pFlip: o.pFlip,
      classes: o.classes,
      ...(o.dataDir !== undefined ? { dataDir: o.dataDir } : {}),
    });
  }
  return b;
}

/** Finds the first gradient (by name) with a non-finite entry, with one device read. */
function firstNonFinite(named: Readonly<Record<string, tf.Tensor>>): string | undefined {
  const names = Object.keys(named);
  const sums = tf.tidy(() => tf.stack(names.map((n) => tf.sum(named[n] as tf.Tensor))).dataSync());
  const k = Array.from(sums).findIndex((v) => !Number.isFinite(v));
  return k >= 0 ? names[k] : undefined;
}

/** Policy-gradient bandit training of a SparseNet (sgprop or backprop) or an MLP (backprop). */
class BanditTrainer implements Trainer {
  completed: number;
  readonly total: number;
  private readonly evalSteps: Set<number>;
  private readonly batch: ContextBatchLike;
  private disposed = false;

  constructor(
    readonly options: ResolvedBanditOptions,
    private readonly bandit: ContextualBandit,
    private readonly sparse: FeedforwardSparseNet | undefined,
    private readonly mlp: Mlp | undefined,
    private readonly policyAdam: Adam,
    private readonly sgAdam: Adam | undefined,
    private theta: tf.Tensor[],
    private thetaAction: tf.Tensor | undefined,
    private actionRng: Rng,
    completed: number,
  ) {
    this.completed = completed;
    this.total = options.steps;
    this.evalSteps = new Set(banditEvalSteps(options.steps, options.numEvals));
    this.batch = bandit.createBatch(options.batchSize);
  }

  private get numLayers(): number {
    return this.options.numLayers;
  }

  /** Samples contexts, actions from the current policy, and rewards. */
  private sampleBatch(withSg: boolean): {
    x: tf.Tensor;
    actions: tf.Tensor;
    rewards: tf.Tensor;
    rewardMean: number;
    fwd?: FeedforwardForward;
    mlpFwd?: MlpForward;
  } {
    this.bandit.sample(this.batch);
    const b = this.batch.size;
    const x = tf.tensor2d(this.batch.contexts, [b, this.batch.contextSize]);
    if (!tf.tidy(() => tf.all(tf.isFinite(x)).dataSync()[0])) {
      x.dispose();
      throw new NonFiniteError(this.completed + 1, "contexts");
    }
    let probs: Float32Array;
    let fwd: FeedforwardForward | undefined;
    let mlpFwd: MlpForward | undefined;
    if (this.sparse !== undefined) {
      fwd = this.sparse.forward(x, withSg);
      probs = tf.tidy(() => tf.softmax((fwd as FeedforwardForward).logits, -1).dataSync() as Float32Array);
    } else {
      // The update reuses this forward trace (the MLP's largest cost is its five 745-wide matMuls).
      mlpFwd = (this.mlp as Mlp).forward(x);
      const logits = mlpFwd.logits;
      probs = tf.tidy(() => tf.softmax(logits, -1).dataSync() as Float32Array);
    }
    const a = this.bandit.numActions;
    const actions = sampleActions(probs, b, a, this.actionRng);
    const rewards = this.bandit.score(this.batch, actions);
    let sum = 0;
    for (const r of rewards) sum += r;
    return {
      x,
      actions: tf.tensor1d(actions, "int32"),
      rewards: tf.tensor1d(Float32Array.from(rewards)),
      rewardMean: sum / b,
      ...(fwd !== undefined ? { fwd } : {}),
      ...(mlpFwd !== undefined ? { mlpFwd } : {}),
    };
  }

  async next(): Promise<TrainerRows> {
    if (this.disposed) throw new Error("the trainer was disposed");
    if (this.completed >= this.total) throw new RangeError(`the run is complete (${this.total} steps)`);
    const step = this.completed + 1;
    const t0 = performance.now();
    const row: Record<string, number> = { "charts/step": step };
    tf.tidy(() => {
      if (this.sparse !== undefined && this.options.algorithm === "sgprop") this.sgpropStep(step, row);
      else this.backpropStep(step, row);
    });
    row["perf/step_seconds"] = (performance.now() - t0) / 1000;
    this.completed = step;
    if (this.sparse !== undefined && diagnosedStep(step, this.options.duringTraining))
      Object.assign(row, duringTrainingDiagnosis(this.sparse, this.theta, this.bandit, this.options, step));
    const rows: { train: MetricsRow; eval?: MetricsRow } = { train: row };
    if (this.evalSteps.has(step)) rows.eval = await this.evaluate(step);
    return rows;
  }

  private sgpropStep(step: number, row: Record<string, number>): void {
    const net = this.sparse as FeedforwardSparseNet;
    const o = this.options;
    const L = this.numLayers;
    const sgAdam = this.sgAdam as Adam;
    const policyBatch = this.sampleBatch(true);
    let sgLossSum: Float32Array | undefined;
    for (let k = 0; k < o.sgStepsPerPolicyStep; k++) {
      tf.tidy(() => {
        const batch = o.reusePolicyBatchForSg ? policyBatch : this.sampleBatch(true);
        const fwd = batch.fwd !== undefined && k === 0 ? batch.fwd : net.forward(batch.x, true);
        const sg = sgPhaseGradients(net, fwd, batch, this.theta, {
          mode: o.sgMode,
          updateSharedKeys: o.updateSharedKeysInSgPhase,
          record: false,
        });
        const bad = firstNonFinite({ ...sg.grads, "losses/sg_loss": sg.losses });
        if (bad !== undefined) throw new NonFiniteError(step, `SG phase ${bad}`);
        const losses = sg.losses.dataSync() as Float32Array;
        sgLossSum =
          sgLossSum === undefined
            ? Float32Array.from(losses)
            : sgLossSum.map((v, i) => v + (losses[i] as number));
        sgAdam.step(sg.grads);
      });
    }
    // The policy is unchanged by the SG phase unless it also fits the keys, so the forward pass
    // of the sampled batch is reused and only the SG predictions are recomputed.
    let fwd = policyBatch.fwd as FeedforwardForward;
    if (o.updateSharedKeysInSgPhase || !o.reusePolicyBatchForSg) {
      fwd = net.forward(policyBatch.x, true);
    } else {
      fwd = net.withFreshSgPredictions(fwd);
    }
    const pg = sgpropPolicyGradients(
      net,
      fwd,
      policyBatch,
      this.theta,
      {
        mode: o.sgMode,
        adaptiveTheta: o.adaptiveTheta,
        thetaMomentum: o.thetaMomentum,
        thetaEps: o.thetaEps,
        mixActionLayer: o.mixActionLayerGradient,
        record: false,
      },
      this.thetaAction,
    );
    const bad = firstNonFinite({ loss: pg.loss, ...pg.grads, theta: tf.stack(pg.theta) });
    if (bad !== undefined) throw new NonFiniteError(step, bad === "loss" ? "policy loss" : `gradient ${bad}`);
    this.policyAdam.step(pg.grads);
    const oldTheta = this.theta;
    this.theta = pg.theta.map((t) => tf.keep(t));
    tf.dispose(oldTheta);
    if (pg.thetaAction !== undefined && pg.thetaAction !== this.thetaAction) {
      const old = this.thetaAction;
      this.thetaAction = tf.keep(pg.thetaAction);
      old?.dispose();
    }
    const scalars = tf
      .concat([
        tf.stack([pg.loss, pg.trueGradNorm, pg.syntheticGradNorm]),
        tf.stack(this.theta.map((t) => tf.mean(t))),
      ])
      .dataSync();
    row["charts/batch_reward"] = policyBatch.rewardMean;
    row["losses/policy_loss"] = scalars[0] as number;
    const sgLosses = (sgLossSum ?? new Float32Array(L + 1)).map((v) => v / o.sgStepsPerPolicyStep);
    row["losses/sg_loss"] = sgLosses.reduce((a, b) => a + b, 0);
    for (let l = 0; l < L; l++) row[`losses/sg_loss_${l}`] = sgLosses[l] as number;
    row["losses/sg_loss_action"] = sgLosses[L] as number;
    for (let l = 0; l < L; l++) row[`sgprop/theta_mean_${l}`] = scalars[3 + l] as number;
    row["sgprop/true_grad_norm"] = scalars[1] as number;
    row["sgprop/synthetic_grad_norm"] = scalars[2] as number;
  }

  private backpropStep(step: number, row: Record<string, number>): void {
    const batch = this.sampleBatch(false);
    let loss: tf.Scalar;
    let grads: Record<string, tf.Tensor>;
    let trueNorm: tf.Scalar | undefined;
    if (this.sparse !== undefined) {
      const r = backpropPolicyGradients(this.sparse, batch.fwd as FeedforwardForward, batch);
      loss = r.loss;
      grads = r.grads;
      trueNorm = r.trueGradNorm;
    } else {
      const net = this.mlp as Mlp;
      const fwd = batch.mlpFwd ?? net.forward(batch.x);
      const l = banditLoss(fwd.logits, batch.actions, batch.rewards);
      loss = l.loss;
      grads = net.backward(fwd, l.dlogits);
    }
    const bad = firstNonFinite({ loss, ...grads });
    if (bad !== undefined) throw new NonFiniteError(step, bad === "loss" ? "policy loss" : `gradient ${bad}`);
    this.policyAdam.step(grads);
    const scalars = tf.stack(trueNorm ? [loss, trueNorm] : [loss]).dataSync();
    row["charts/batch_reward"] = batch.rewardMean;
    row["losses/policy_loss"] = scalars[0] as number;
    if (this.sparse !== undefined) {
      for (let l = 0; l < this.numLayers; l++) row[`sgprop/theta_mean_${l}`] = 1;
      row["sgprop/true_grad_norm"] = scalars[1] as number;
    }
  }

  /** Mean noiseless reward on evalBatchSize held-out contexts (actions sampled from the policy). */
  private async evaluate(step: number): Promise<MetricsRow> {
    const policy = (batch: ContextBatchLike) => {
      const probs = tf.tidy(() => {
        const x = tf.tensor2d(batch.contexts, [batch.size, batch.contextSize]);
        return this.sparse !== undefined ? this.sparse.probabilities(x) : (this.mlp as Mlp).probabilities(x);
      });
      const data = probs.dataSync();
      probs.dispose();
      if (!data.every(Number.isFinite)) throw new NonFiniteError(step, "evaluation action probabilities");
      return { probabilities: data };
    };
    const r = await this.bandit.evaluate(policy, { n: this.options.evalBatchSize });
    return { "charts/step": step, "eval/reward": r.sampledReward, "eval/expected_reward": r.expectedReward };
  }

  /** Action probabilities of the current policy for contexts [B, X] (a new tensor). */
  probabilities(x: tf.Tensor): tf.Tensor {
    return this.sparse !== undefined ? this.sparse.probabilities(x) : (this.mlp as Mlp).probabilities(x);
  }

  async saveCheckpoint(dir: string): Promise<void> {
    const tensors: Record<string, NamedTensorData> = {};
    const vars = this.sparse?.vars ?? (this.mlp as Mlp).vars;
    for (const [name, v] of Object.entries(vars)) tensors[name] = f32(v);
    if (this.sparse !== undefined) {
      const c = this.sparse.config;
      tensors.firstLayerInputIdx = {
        dtype: "I32",
        shape: [c.width, this.sparse.nd],
        data: Int32Array.from(this.sparse.connectivity.firstLayerInputIdx),
      };
      tensors.parentIdx = {
        dtype: "I32",
        shape: [c.numLayers - 1, c.width, c.numParents],
        data: Int32Array.from(this.sparse.connectivity.parentIdx),
      };
      const th = tf.stack(this.theta);
      tensors.theta = f32(th);
      th.dispose();
      if (this.thetaAction !== undefined) tensors.thetaAction = f32(this.thetaAction);
    }
    const policyState = this.policyAdam.getState();
    addOptimizer(tensors, "optim.policy", policyState);
    const sgState = this.sgAdam?.getState();
    if (sgState !== undefined) addOptimizer(tensors, "optim.sg", sgState);
    const { bandit: _bandit, ...options } = this.options;
    const meta: BanditCheckpointMeta = {
      format: BANDIT_CHECKPOINT_FORMAT,
      options,
      completed: this.completed,
      actionRng: this.actionRng.state(),
      bandit: this.bandit.state(),
      policySteps: { ...policyState.steps },
      sgSteps: { ...(sgState?.steps ?? {}) },
    };
    await writeCheckpointDir(dir, tensors, meta);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.sparse?.dispose();
    this.mlp?.dispose();
    this.policyAdam.dispose();
    this.sgAdam?.dispose();
    tf.dispose(this.theta);
    this.thetaAction?.dispose();
  }
}

function f32(t: tf.Tensor): NamedTensorData {
  return { dtype: "F32", shape: t.shape, data: Float32Array.from(t.dataSync() as Float32Array) };
}

function addOptimizer(out: Record<string, NamedTensorData>, prefix: string, s: AdamState): void {
  for (const [name, t] of Object.entries(s.m)) out[`${prefix}.m.${name}`] = f32(t);
  for (const [name, t] of Object.entries(s.v)) out[`${prefix}.v.${name}`] = f32(t);
  tf.dispose([...Object.values(s.m), ...Object.values(s.v)]);
}

function sparseConfig(o: ResolvedBanditOptions, bandit: ContextualBandit): FeedforwardSparseNetConfig {
  return {
    inputDim: bandit.contextSize,
    numLayers: o.numLayers,
    width: o.width,
    neuronDim: o.neuronDim,
    numSlots: o.numSlots,
    numParents: o.numParents,
    numActions: bandit.numActions,
    residual: o.residual,
  };
}

function mlpConfig(o: ResolvedBanditOptions, bandit: ContextualBandit) {
  return {
    inputDim: bandit.contextSize,
    hiddenWidth: o.width,
    numLayers: o.numLayers,
    numActions: bandit.numActions,
    residual: o.residual,
  };
}

function makeOptimizers(
  o: ResolvedBanditOptions,
  sparse: FeedforwardSparseNet | undefined,
  mlp: Mlp | undefined,
): { policyAdam: Adam; sgAdam?: Adam } {
  if (sparse === undefined) return { policyAdam: new Adam((mlp as Mlp).vars, policyAdamOptions(o)) };
  const policyAdam = new Adam(sparse.policyVars(), policyAdamOptions(o));
  if (o.algorithm !== "sgprop") return { policyAdam };
  const sgVars: Record<string, tf.Variable> = sparse.sgVars();
  if (o.updateSharedKeysInSgPhase) {
    for (let l = 0; l < o.numLayers; l++)
      sgVars[`hiddenKeys.${l}`] = sparse.vars[`hiddenKeys.${l}`] as tf.Variable;
    sgVars.actionKeys = sparse.vars.actionKeys as tf.Variable;
  }
  return {
    policyAdam,
    sgAdam: new Adam(sgVars, { learningRate: o.sgLearningRate, weightDecay: o.sgWeightDecay }),
  };
}

function policyAdamOptions(o: ResolvedBanditOptions): { learningRate: number; weightDecay: number } {
  return { learningRate: o.learningRate, weightDecay: o.policyWeightDecay };
}

async function useBackendFor(o: ResolvedBanditOptions): Promise<void> {
  if (o.backend !== undefined) await selectBackend(o.backend);
  else await ensureBackend();
}

/**
 * Starts a bandit training run (SPEC 5, 6): one seeding block, then `next()` runs one policy step
 * (for sgprop: the SG phase, then the mixed policy step) and, at the scheduled steps, an evaluation.
 */
export async function createBanditTrainer(opts: Partial<BanditTrainOptions>): Promise<Trainer> {
  const o = resolveBanditOptions(opts);
  await useBackendFor(o);
  const bandit = resolveBandit(o);
  const { init: initRng, actions: actionRng } = trainerStreams(o.seed, BANDIT_TRAINER_STREAMS);
  let sparse: FeedforwardSparseNet | undefined;
  let mlp: Mlp | undefined;
  if (o.model === "sparsenet") sparse = FeedforwardSparseNet.create(sparseConfig(o, bandit), initRng);
  else mlp = Mlp.create(mlpConfig(o, bandit), initRng);
  const { policyAdam, sgAdam } = makeOptimizers(o, sparse, mlp);
  const thetaValue = o.algorithm === "sgprop" ? o.thetaInit : 1;
  const theta = sparse ? Array.from({ length: o.numLayers }, () => tf.fill([o.width], thetaValue)) : [];
  const thetaAction =
    sparse && o.algorithm === "sgprop" && o.mixActionLayerGradient
      ? tf.fill([bandit.numActions], o.thetaActionInit)
      : undefined;
  return new BanditTrainer(o, bandit, sparse, mlp, policyAdam, sgAdam, theta, thetaAction, actionRng, 0);
}

/**
 * Continues a run from a checkpoint folder written by `saveCheckpoint`. `opts` may override
 * options that do not change the run's numbers (backend, steps, numEvals) and must supply the
 * bandit again.
 */
export async function restoreBanditTrainer(
  checkpointDir: string,
  opts: Partial<BanditTrainOptions> = {},
): Promise<Trainer> {
  const { tensors, meta: rawMeta } = await readCheckpointDir(checkpointDir);
  const meta = rawMeta as BanditCheckpointMeta;
  if (meta.format !== BANDIT_CHECKPOINT_FORMAT) {
    throw new InvalidConfigError("checkpoint format", meta.format, BANDIT_CHECKPOINT_FORMAT);
  }
  const o = resolveBanditOptions({ ...meta.options, ...opts });
  await useBackendFor(o);
  const bandit = resolveBandit(o);
  bandit.setState(meta.bandit);
  const toTensor = (name: string): tf.Tensor => {
    const t = tensors[name];
    if (t === undefined) throw new InvalidConfigError(`checkpoint tensor ${name}`, "missing", "present");
    return tf.tensor(t.data, [...t.shape], t.dtype === "I32" ? "int32" : "float32");
  };
  let sparse: FeedforwardSparseNet | undefined;
  let mlp: Mlp | undefined;
  if (o.model === "sparsenet") {
    const cfg = sparseConfig(o, bandit);
    const params: Record<string, tf.Tensor> = {};
    for (const name of Object.keys(feedforwardShapes(cfg))) params[name] = toTensor(name);
    const conn = {
      firstLayerInputIdx: Int32Array.from(tensors.firstLayerInputIdx?.data ?? []),
      parentIdx: Int32Array.from(tensors.parentIdx?.data ?? []),
    };
    sparse = new FeedforwardSparseNet(cfg, conn, params);
    tf.dispose(Object.values(params));
  } else {
    const cfg = mlpConfig(o, bandit);
    const params: Record<string, tf.Tensor> = {};
    for (const name of Object.keys(mlpShapes(cfg))) params[name] = toTensor(name);
    mlp = new Mlp(cfg, params);
    tf.dispose(Object.values(params));
  }
  const { policyAdam, sgAdam } = makeOptimizers(o, sparse, mlp);
  const restoreAdam = (adam: Adam, prefix: string, steps: Record<string, number>) => {
    const m: Record<string, tf.Tensor> = {};
    const v: Record<string, tf.Tensor> = {};
    for (const name of adam.names) {
      m[name] = toTensor(`${prefix}.m.${name}`);
      v[name] = toTensor(`${prefix}.v.${name}`);
    }
    adam.setState({ steps, m, v });
    tf.dispose([...Object.values(m), ...Object.values(v)]);
  };
  restoreAdam(policyAdam, "optim.policy", meta.policySteps);
  if (sgAdam !== undefined) restoreAdam(sgAdam, "optim.sg", meta.sgSteps);
  let theta: tf.Tensor[] = [];
  let thetaAction: tf.Tensor | undefined;
  if (sparse !== undefined) {
    const th = toTensor("theta");
    theta = tf.unstack(th);
    th.dispose();
    if (tensors.thetaAction !== undefined) thetaAction = toTensor("thetaAction");
  }
  return new BanditTrainer(
    o,
    bandit,
    sparse,
    mlp,
    policyAdam,
    sgAdam,
    theta,
    thetaAction,
    Rng.fromState(meta.actionRng),
    meta.completed,
  );
}
