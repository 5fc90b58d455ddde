import {
  ensureBackend,
  type NamedTensorData,
  parseBackendName,
  selectBackend,
  type TrainerRows,
} from "@sgprop/agents";
import { Rng } from "@sgprop/gym";
import { resolveDataset } from "@sgprop/mnist-bandit";
import * as tf from "@tensorflow/tfjs-core";
import {
  classifierProbe,
  downsample,
  type Features,
  inputRegressionProbe,
  rdm,
} from "../experiments/representations.js";
import { DniLearner, type LearnerOptions } from "../learner.js";
import { DNI_STREAMS } from "../streams.js";
import { sgBoundaries } from "../wiring.js";
import type { ExperimentState } from "./experiment.js";
import { mnistArrays, mnistNet } from "./mnist.js";
import type { DniTrainOptions } from "./options.js";

const CLASSES = 10;
/** The paper's RDMs use 400 points sorted by label: 40 per digit here. */
export const RDM_POINTS = 400;
/** RDMs are stored and drawn averaged over 8 x 8 blocks (50 x 50). */
export const RDM_SIZE = 50;
/** Training points of the linear probes. */
export const PROBE_TRAIN_POINTS = 1000;

/** The four learning rules the analysis compares, with their short names. */
export const REPRESENTATION_METHODS = ["backprop", "sg_middle", "sg_every", "dfa"] as const;
export type RepresentationMethod = (typeof REPRESENTATION_METHODS)[number];

function learnerOptions(o: DniTrainOptions, m: RepresentationMethod): LearnerOptions {
  const net = mnistNet(o);
  const base = { net, loss: "softmax" as const, learningRate: o.learningRate, seed: o.seed };
  const sg = { form: o.sgForm, conditioning: o.conditioning };
  switch (m) {
    case "backprop":
      return { ...base, method: "backprop" };
    case "dfa":
      return { ...base, method: "dfa" };
    case "sg_middle":
      return { ...base, method: "sg", sgAt: sgBoundaries(net, "middle"), sg };
    case "sg_every":
      return { ...base, method: "sg", sgAt: sgBoundaries(net, "every"), sg };
  }
}

/**
 * Trains backprop, one SG in the middle, SG everywhere and DFA on the same MNIST minibatches; after
 * the last step, the RDM and both probes of every layer of every net (Figs. 7-8).
 */
export class RepresentationsRun implements ExperimentState {
  private rng: Rng;
  private analysis: { tensors: Record<string, NamedTensorData>; row: Record<string, number> } | undefined;

  private constructor(
    readonly o: DniTrainOptions,
    private readonly learners: DniLearner[],
    private readonly train: ReturnType<typeof mnistArrays>,
    private readonly test: ReturnType<typeof mnistArrays>,
    private readonly testLabels: Uint8Array,
    private readonly trainLabels: Uint8Array,
  ) {
    this.rng = Rng.derive(o.seed, DNI_STREAMS.batches);
  }

  static async create(o: DniTrainOptions): Promise<RepresentationsRun> {
    if (o.backend === undefined) await ensureBackend();
    else await selectBackend(parseBackendName(o.backend));
    const data = resolveDataset(o.dataDir === undefined ? {} : { dataDir: o.dataDir });
    const learners = REPRESENTATION_METHODS.map((m) => new DniLearner(learnerOptions(o, m)));
    return new RepresentationsRun(
      o,
      learners,
      mnistArrays(data.train),
      mnistArrays(data.test),
      data.test.labels,
      data.train.labels,
    );
  }

  get total(): number {
    return this.o.steps;
  }

  next(completed: number): TrainerRows {
    const B = this.o.batchSize;
    const { pixels } = this.train;
    const xb = new Float32Array(B * pixels);
    const yb = new Float32Array(B * CLASSES);
    for (let i = 0; i < B; i++) {
      const j = this.rng.integer(0, this.train.count - 1);
      xb.set(this.train.x.subarray(j * pixels, (j + 1) * pixels), i * pixels);
      yb.set(this.train.y.subarray(j * CLASSES, (j + 1) * CLASSES), i * CLASSES);
    }
    const x = tf.tensor2d(xb, [B, pixels]);
    const y = tf.tensor2d(yb, [B, CLASSES]);
    const train: Record<string, number> = { "charts/step": completed + 1 };
    REPRESENTATION_METHODS.forEach((m, i) => {
      train[`repr/loss_${m}`] = (this.learners[i] as DniLearner).step(x, y).loss;
    });
    tf.dispose([x, y]);
    if (completed + 1 < this.o.steps) return { train };
    this.analysis = this.analyse();
    return { train, eval: { "charts/step": completed + 1, ...this.analysis.row } };
  }

  /** Indices of the first RDM_POINTS / 10 test points of each digit, in label order. */
  private rdmPoints(): number[] {
    const per = RDM_POINTS / CLASSES;
    const out: number[] = [];
    for (let c = 0; c < CLASSES; c++) {
      let taken = 0;
      for (let i = 0; i < this.test.count && taken < per; i++) {
        if (this.testLabels[i] === c) {
          out.push(i);
          taken++;
        }
      }
    }
    return out;
  }

  private activations(split: ReturnType<typeof mnistArrays>, idx: readonly number[]): Features[][] {
    const { pixels } = split;
    const xb = new Float32Array(idx.length * pixels);
    idx.forEach((j, i) => {
      xb.set(split.x.subarray(j * pixels, (j + 1) * pixels), i * pixels);
    });
    const x = tf.tensor2d(xb, [idx.length, pixels]);
    const out = this.learners.map((l) =>
      tf
        .tidy(() => l.forwardAll(x, true).slice(1))
        .map((h) => {
          const f = { rows: idx.length, cols: h.shape[1], data: h.dataSync() as Float32Array };
          h.dispose();
          return f;
        }),
    );
    x.dispose();
    return out;
  }

  private analyse(): { tensors: Record<string, NamedTensorData>; row: Record<string, number> } {
    const testIdx = this.rdmPoints();
    const probeRng = Rng.derive(this.o.seed, DNI_STREAMS.probes);
    const trainIdx = probeRng.sampleWithoutReplacement(
      this.train.count,
      Math.min(PROBE_TRAIN_POINTS, this.train.count),
    );
    const inputsOf = (split: ReturnType<typeof mnistArrays>, idx: readonly number[]): Features => {
      const data = new Float32Array(idx.length * split.pixels);
      idx.forEach((j, i) => {
        data.set(split.x.subarray(j * split.pixels, (j + 1) * split.pixels), i * split.pixels);
      });
      return { rows: idx.length, cols: split.pixels, data };
    };
    const testInputs = inputsOf(this.test, testIdx);
    const trainInputs = inputsOf(this.train, trainIdx);
    const testLabels = testIdx.map((i) => this.testLabels[i] as number);
    const trainLabels = trainIdx.map((i) => this.trainLabels[i] as number);
    const testActs = this.activations(this.test, testIdx);
    const trainActs = this.activations(this.train, trainIdx);
    const tensors: Record<string, NamedTensorData> = {};
    const row: Record<string, number> = {};
    REPRESENTATION_METHODS.forEach((m, mi) => {
      (testActs[mi] as Features[]).forEach((fTest, layer) => {
        const fTrain = (trainActs[mi] as Features[])[layer] as Features;
        const small = downsample(rdm(fTest), RDM_POINTS, RDM_SIZE);
        tensors[`rdm/${m}/${layer + 1}`] = { dtype: "F64", shape: [RDM_SIZE, RDM_SIZE], data: small };
        row[`repr/probe_accuracy/${m}/${layer + 1}`] = classifierProbe(
          fTrain,
          trainLabels,
          fTest,
          testLabels,
          CLASSES,
        );
        row[`repr/input_r2/${m}/${layer + 1}`] = inputRegressionProbe(fTrain, trainInputs, fTest, testInputs);
      });
    });
    return { tensors, row };
  }

  tensors(): Record<string, NamedTensorData> {
    const out: Record<string, NamedTensorData> = { ...(this.analysis?.tensors ?? {}) };
    REPRESENTATION_METHODS.forEach((m, i) => {
      const { tensors } = (this.learners[i] as DniLearner).stateTensors();
      for (const [name, t] of Object.entries(tensors)) {
        out[`${m}/${name}`] = { dtype: "F32", shape: t.shape, data: t.dataSync() as Float32Array };
      }
    });
    return out;
  }

  meta(): unknown {
    return {
      rng: this.rng.state(),
      learners: this.learners.map((l) => {
        const { steps, netOptSteps, sgOptSteps } = l.stateTensors();
        return { steps, netOptSteps, sgOptSteps };
      }),
    };
  }

  load(tensors: Readonly<Record<string, NamedTensorData>>, meta: unknown): void {
    const m = meta as {
      rng: number[];
      learners: { steps: number; netOptSteps: number; sgOptSteps: number }[];
    };
    REPRESENTATION_METHODS.forEach((name, i) => {
      const prefix = `${name}/`;
      const ts = Object.fromEntries(
        Object.entries(tensors)
          .filter(([k]) => k.startsWith(prefix))
          .map(([k, t]) => [k.slice(prefix.length), tf.tensor(Float32Array.from(t.data), [...t.shape])]),
      );
      (this.learners[i] as DniLearner).loadState(
        ts,
        m.learners[i] as { steps: number; netOptSteps: number; sgOptSteps: number },
      );
    });
    this.rng = Rng.fromState(m.rng);
  }

  dispose(): void {
    for (const l of this.learners) l.dispose();
  }
}
