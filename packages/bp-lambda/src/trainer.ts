/**
 * A resumable BP(lambda) run on one task with one method, advanced one training batch at a time
 * (the Trainer contract of @sgprop/agents, so apps/train gives it results folders, metrics.csv,
 * checkpoints, resume and sweeps). Reads top to bottom: options, model, the three task protocols.
 */
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  BpLambdaLearner,
  LinearSynthesiser,
  type MetricsRow,
  type Trainer,
  type TrainerRows,
} from "@sgprop/agents";
import { Rng } from "@sgprop/gym";
import { resolveDataset } from "@sgprop/mnist-bandit";
import { Adam64, type AdamSnapshot } from "./adam.js";
import { type Core, LstmCore, RnnCore } from "./cores.js";
import { evaluateSeqMnist } from "./evaluate.js";
import { type MethodSettings, methodLabel, methodSettings } from "./methods.js";
import {
  type BpLambdaTrainOptions,
  plannedBatches,
  type ResolvedBpLambdaOptions,
  resolveBpLambdaOptions,
} from "./options.js";
import { Readout } from "./readout.js";
import { learnSequence, type Model, type SequenceBatch } from "./sequence.js";
import { BP_LAMBDA_STREAMS } from "./streams.js";
import { CopyRepeatTask } from "./tasks/copyRepeat.js";
import { LineDrawTask } from "./tasks/linedraw.js";
import { SeqMnistTask } from "./tasks/seqMnist.js";

/** The outcome a run reports for Table 2. */
export interface BpLambdaSummary {
  readonly task: string;
  readonly method: string;
  /** toy: longest length solved (0 if none); copy-repeat: the sequence length T reached; seq-mnist: test accuracy (%). */
  readonly score: number;
  readonly done: boolean;
}

const CHECKPOINT_FILE = "bp-lambda.json";

export class BpLambdaTrainer implements Trainer {
  readonly options: ResolvedBpLambdaOptions;
  readonly settings: MethodSettings;
  readonly model: Model;
  completed = 0;
  readonly total: number;
  private readonly learner: BpLambdaLearner | null;
  private readonly coreAdam: Adam64;
  private readonly readoutAdam: Adam64;
  private readonly synthAdam: Adam64 | null;
  private dataRng: Rng;
  private readonly toy: LineDrawTask | null;
  private readonly copy: CopyRepeatTask | null;
  private readonly mnist: SeqMnistTask | null;
  private readonly batchesPerEpoch: number;
  // Protocol state (checkpointed).
  private length: number;
  private solvedLength = 0;
  private stageBatches = 0;
  private epochLosses: number[] = [];
  private epochLossSum = 0;
  private finished = false;
  private lastAccuracy = Number.NaN;

  constructor(options: BpLambdaTrainOptions = {}) {
    const o = resolveBpLambdaOptions(options);
    this.options = o;
    this.settings = methodSettings({
      method: o.method,
      ...(o.n !== undefined ? { n: o.n } : {}),
      lambda: o.lambda,
      gamma: o.gamma,
      sgScale: o.sgScale,
      stepClipNorm: o.stepClipNorm,
      cellTraces: o.cellTraces,
    });
    const init = Rng.derive(o.seed, BP_LAMBDA_STREAMS.init);
    this.dataRng = Rng.derive(o.seed, BP_LAMBDA_STREAMS.data);
    this.toy = o.task === "toy" ? new LineDrawTask({ numPoints: o.numPoints }) : null;
    this.copy = o.task === "copy-repeat" ? new CopyRepeatTask({ solvedBits: o.solvedBits }) : null;
    this.mnist =
      o.task === "seq-mnist"
        ? new SeqMnistTask(resolveDataset(o.dataDir !== undefined ? { dataDir: o.dataDir } : {}))
        : null;
    const [inputSize, outputSize] = this.toy
      ? [this.toy.inputDim, this.toy.outputSize]
      : this.copy
        ? [this.copy.inputSize, this.copy.outputSize]
        : [(this.mnist as SeqMnistTask).inputSize, (this.mnist as SeqMnistTask).numClasses];
    const core: Core =
      o.core === "lstm"
        ? new LstmCore(inputSize, o.hiddenSize, init)
        : new RnnCore(inputSize, o.hiddenSize, o.fixedRnn ? "identity" : "tanh", init);
    const readout = new Readout(o.hiddenSize, outputSize, init);
    const synthesiser = this.settings.sg === "none" ? null : new LinearSynthesiser(core.stateSize);
    this.model = { core, readout, synthesiser };
    this.learner =
      this.settings.sg === "bp-lambda" && synthesiser
        ? new BpLambdaLearner(synthesiser, o.batchSize, {
            lambda: o.lambda,
            gamma: o.gamma,
            stepClipNorm: o.stepClipNorm,
          })
        : null;
    this.coreAdam = new Adam64({ ...core.params }, { learningRate: o.learningRate });
    this.readoutAdam = new Adam64(
      { weight: readout.weight, bias: readout.bias },
      { learningRate: o.readoutLearningRate },
    );
    this.synthAdam = synthesiser
      ? new Adam64({ theta: synthesiser.theta, bias: synthesiser.bias }, { learningRate: o.sgLearningRate })
      : null;
    this.batchesPerEpoch =
      o.batchesPerEpoch > 0
        ? o.batchesPerEpoch
        : this.mnist
          ? Math.max(1, Math.floor((0.8 * this.mnist.dataset.train.count) / o.batchSize))
          : 1;
    this.length = o.length;
    this.total = plannedBatches({ ...o, batchesPerEpoch: this.batchesPerEpoch });
  }

  /** The run's Table 2 figure so far. */
  summary(): BpLambdaSummary {
    const o = this.options;
    const score = this.toy ? this.solvedLength : this.copy ? this.copy.length : this.lastAccuracy * 100;
    return { task: o.task, method: methodLabel(this.settings), score, done: this.completed >= this.total };
  }

  async next(): Promise<TrainerRows> {
    if (this.completed >= this.total) throw new Error("BpLambdaTrainer.next: the run is complete");
    const o = this.options;
    const batch = this.nextBatch();
    const alignment = this.toy !== null && o.fixedRnn && this.model.synthesiser !== null;
    const result = learnSequence(this.model, batch, this.settings, this.learner, { alignment });
    this.applyGradients(result.grads);
    this.completed++;
    const train: Record<string, number> = {
      "charts/batch": this.completed,
      "losses/loss": result.loss,
      "charts/length": batch.inputs.length,
      "charts/epoch": Math.floor(this.stageBatches / this.batchesPerEpoch),
    };
    if (this.learner) {
      const norms = this.learner.tdErrorNorms;
      train["sg/td_error"] = norms.length ? Math.sqrt(norms.reduce((a, b) => a + b, 0) / norms.length) : 0;
    }
    if (result.alignment) {
      const valid = result.alignment.slice(0, -1);
      train["sg/alignment"] = valid.reduce((a, b) => a + b, 0) / Math.max(1, valid.length);
      valid.forEach((v, t) => {
        train[`sg/alignment_t${t}`] = v;
      });
    }
    let evalRow: MetricsRow | undefined;
    this.stageBatches++;
    this.epochLossSum += result.loss;
    const endOfEpoch = this.stageBatches % this.batchesPerEpoch === 0;
    if (endOfEpoch) {
      this.epochLosses.push(this.epochLossSum / this.batchesPerEpoch);
      this.epochLossSum = 0;
    }
    if (this.toy) {
      train["losses/mse"] = 2 * result.loss;
      if (!o.fixedRnn && this.stageBatches === o.epochs * this.batchesPerEpoch) evalRow = this.endToyStage();
      train["charts/solved_length"] = this.solvedLength;
    } else if (this.copy) {
      train["losses/bits"] = result.loss / Math.LN2;
      train["charts/N"] = this.copy.N;
      train["charts/R"] = this.copy.R;
      this.copy.observe(result.loss);
    } else if (this.mnist) {
      train["charts/accuracy"] = result.accuracy;
      if (endOfEpoch) {
        this.lastAccuracy = evaluateSeqMnist(
          this.model,
          this.mnist,
          o.evalSize,
          Rng.derive(o.seed, BP_LAMBDA_STREAMS.evaluation),
        );
        evalRow = { "eval/accuracy": this.lastAccuracy };
      }
    }
    if (this.finished) this.completed = this.total;
    return evalRow
      ? { train, eval: { "charts/batch": train["charts/batch"] as number, ...evalRow } }
      : { train };
  }

  /** Toy protocol: after `epochs` epochs at a length, solved if the last window's mean loss is small. */
  private endToyStage(): MetricsRow {
    const o = this.options;
    const window = this.epochLosses.slice(-o.solvedWindow);
    const mse = (2 * window.reduce((a, b) => a + b, 0)) / window.length;
    const solved = mse < o.solvedLoss;
    const row = { "eval/stage_length": this.length, "eval/stage_mse": mse, "eval/solved": solved ? 1 : 0 };
    if (solved) this.solvedLength = this.length;
    if (!solved || this.length + o.lengthStep > o.maxLength) this.finished = true;
    this.length += o.lengthStep;
    this.stageBatches = 0;
    this.epochLosses = [];
    return row;
  }

  private nextBatch(): SequenceBatch {
    const B = this.options.batchSize;
    if (this.toy) return this.toy.batch(this.dataRng, B, this.length);
    if (this.copy) return this.copy.batch(this.dataRng, B);
    const task = this.mnist as SeqMnistTask;
    // The first 80% of the training split trains (the authors hold out 20% for validation).
    const trainCount = Math.floor(0.8 * task.dataset.train.count);
    const indices = Array.from({ length: B }, () => this.dataRng.integer(0, trainCount - 1));
    return task.batch(task.dataset.train, B, null, indices);
  }

  private applyGradients(grads: ReturnType<typeof learnSequence>["grads"]): void {
    this.coreAdam.apply({ ...grads.core });
    this.readoutAdam.apply({ weight: grads.readoutWeight, bias: grads.readoutBias });
    if (this.synthAdam && grads.synthTheta && grads.synthBias)
      this.synthAdam.apply({ theta: grads.synthTheta, bias: grads.synthBias });
  }

  /** Every learned parameter as plain arrays: the checkpoint's `params`, also read by tests. */
  parameterArrays(): ParameterArrays {
    const { core, readout, synthesiser } = this.model;
    return {
      w_ih: Array.from(core.params.w_ih),
      w_hh: Array.from(core.params.w_hh),
      b: Array.from(core.params.b),
      readoutWeight: Array.from(readout.weight),
      readoutBias: Array.from(readout.bias),
      synthTheta: synthesiser ? Array.from(synthesiser.theta) : null,
      synthBias: synthesiser ? Array.from(synthesiser.bias) : null,
    };
  }

  async saveCheckpoint(dir: string): Promise<void> {
    const state = {
      format: "sgprop/bp-lambda-checkpoint-v1",
      options: this.options,
      completed: this.completed,
      params: this.parameterArrays(),
      adam: {
        core: this.coreAdam.snapshot(),
        readout: this.readoutAdam.snapshot(),
        synth: this.synthAdam?.snapshot() ?? null,
      },
      rng: this.dataRng.state(),
      protocol: {
        length: this.length,
        solvedLength: this.solvedLength,
        stageBatches: this.stageBatches,
        epochLosses: this.epochLosses,
        epochLossSum: this.epochLossSum,
        finished: this.finished,
        lastAccuracy: Number.isNaN(this.lastAccuracy) ? null : this.lastAccuracy,
        N: this.copy?.N ?? null,
        R: this.copy?.R ?? null,
      },
    };
    const tmp = `${dir}.tmp-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    await writeFile(join(tmp, CHECKPOINT_FILE), JSON.stringify(state));
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  }

  /** Continues a run from `saveCheckpoint`'s folder; `options` must match the saved run's. */
  static async restore(dir: string, options: BpLambdaTrainOptions = {}): Promise<BpLambdaTrainer> {
    const raw = JSON.parse(await readFile(join(dir, CHECKPOINT_FILE), "utf8")) as CheckpointState;
    if (raw.format !== "sgprop/bp-lambda-checkpoint-v1")
      throw new Error(`${dir}: not a bp-lambda checkpoint`);
    const trainer = new BpLambdaTrainer({ ...raw.options, ...options });
    const { core, readout, synthesiser } = trainer.model;
    core.params.w_ih.set(raw.params.w_ih);
    core.params.w_hh.set(raw.params.w_hh);
    core.params.b.set(raw.params.b);
    readout.weight.set(raw.params.readoutWeight);
    readout.bias.set(raw.params.readoutBias);
    if (synthesiser && raw.params.synthTheta && raw.params.synthBias) {
      synthesiser.theta.set(raw.params.synthTheta);
      synthesiser.bias.set(raw.params.synthBias);
    }
    trainer.coreAdam.restore(raw.adam.core);
    trainer.readoutAdam.restore(raw.adam.readout);
    if (trainer.synthAdam && raw.adam.synth) trainer.synthAdam.restore(raw.adam.synth);
    trainer.dataRng = Rng.fromState(raw.rng);
    const p = raw.protocol;
    Object.assign(trainer, {
      completed: raw.completed,
      length: p.length,
      solvedLength: p.solvedLength,
      stageBatches: p.stageBatches,
      epochLosses: p.epochLosses,
      epochLossSum: p.epochLossSum,
      finished: p.finished,
      lastAccuracy: p.lastAccuracy ?? Number.NaN,
    });
    if (trainer.copy && p.N !== null && p.R !== null) {
      trainer.copy.N = p.N;
      trainer.copy.R = p.R;
    }
    return trainer;
  }

  /** Nothing to release: the run holds plain arrays, no tensors. */
  dispose(): void {}
}

/** The core's, the readout's and (BP(lambda), BPTT + SG) the synthesiser's parameters. */
export type ParameterArrays = Record<"w_ih" | "w_hh" | "b" | "readoutWeight" | "readoutBias", number[]> & {
  synthTheta: number[] | null;
  synthBias: number[] | null;
};

interface CheckpointState {
  format: string;
  options: ResolvedBpLambdaOptions;
  completed: number;
  params: ParameterArrays;
  adam: { core: AdamSnapshot; readout: AdamSnapshot; synth: AdamSnapshot | null };
  rng: number[];
  protocol: {
    length: number;
    solvedLength: number;
    stageBatches: number;
    epochLosses: number[];
    epochLossSum: number;
    finished: boolean;
    lastAccuracy: number | null;
    N: number | null;
    R: number | null;
  };
}

/** Creates a run (the factory apps/train calls). */
export async function createBpLambdaTrainer(options: BpLambdaTrainOptions = {}): Promise<BpLambdaTrainer> {
  return new BpLambdaTrainer(options);
}

/** Restores a run from a checkpoint folder (the factory apps/train calls on --resume). */
export async function restoreBpLambdaTrainer(
  dir: string,
  options: BpLambdaTrainOptions = {},
): Promise<BpLambdaTrainer> {
  return BpLambdaTrainer.restore(dir, options);
}
