import {
  ensureBackend,
  type NamedTensorData,
  parseBackendName,
  selectBackend,
  type TrainerRows,
} from "@sgprop/agents";
import { Rng } from "@sgprop/gym";
import { type LabelledImages, resolveDataset, standardize } from "@sgprop/mnist-bandit";
import * as tf from "@tensorflow/tfjs-core";
import { DniLearner } from "../learner.js";
import { accuracy, lossValue } from "../losses.js";
import type { NetSpec } from "../net.js";
import { DNI_STREAMS } from "../streams.js";
import { sgBoundaries } from "../wiring.js";
import type { ExperimentState } from "./experiment.js";
import type { DniTrainOptions } from "./options.js";

const CLASSES = 10;

/** Standardised images [count, pixels] and one-hot labels [count, 10] of a split. */
export function mnistArrays(split: LabelledImages): {
  x: Float32Array;
  y: Float32Array;
  count: number;
  pixels: number;
} {
  const pixels = split.rows * split.cols;
  const y = new Float32Array(split.count * CLASSES);
  for (let i = 0; i < split.count; i++) y[i * CLASSES + (split.labels[i] as number)] = 1;
  return { x: standardize(split.images), y, count: split.count, pixels };
}

/** The MNIST net of Fig. 4: `hiddenLayers` blocks of `width` units with batch norm. */
export function mnistNet(
  o: Pick<DniTrainOptions, "hiddenLayers" | "width" | "activation" | "batchNorm">,
): NetSpec {
  return {
    layerSizes: [784, ...Array.from({ length: o.hiddenLayers }, () => o.width), CLASSES],
    activation: o.activation,
    batchNorm: o.batchNorm,
  };
}

/**
 * Minibatch training on MNIST (bundled digits, or IDX files in `dataDir`), with batches drawn
 * uniformly with replacement from "dni/batches" and test evaluations evenly spaced over the run.
 */
export class MnistRun implements ExperimentState {
  private rng: Rng;
  private constructor(
    readonly o: DniTrainOptions,
    private readonly learner: DniLearner,
    private readonly train: ReturnType<typeof mnistArrays>,
    private readonly test: ReturnType<typeof mnistArrays>,
  ) {
    this.rng = Rng.derive(o.seed, DNI_STREAMS.batches);
  }

  static async create(o: DniTrainOptions): Promise<MnistRun> {
    if (o.backend === undefined) await ensureBackend();
    else await selectBackend(parseBackendName(o.backend));
    const data = resolveDataset(o.dataDir === undefined ? {} : { dataDir: o.dataDir });
    const net = mnistNet(o);
    const learner = new DniLearner({
      net,
      loss: "softmax",
      method: o.method,
      ...(o.method === "sg"
        ? { sgAt: sgBoundaries(net, o.sgPlacement), sg: { form: o.sgForm, conditioning: o.conditioning } }
        : {}),
      learningRate: o.learningRate,
      ...(o.sgLearningRate === undefined ? {} : { sgLearningRate: o.sgLearningRate }),
      seed: o.seed,
    });
    return new MnistRun(o, learner, mnistArrays(data.train), mnistArrays(data.test));
  }

  get total(): number {
    return this.o.steps;
  }

  /** Steps after which the test split is evaluated: numEvals of them, evenly spaced, the last at the end. */
  private isEvalStep(step: number): boolean {
    const n = this.o.numEvals;
    if (n <= 0) return false;
    for (let e = 1; e <= n; e++) if (Math.round((e * this.o.steps) / n) === step) return true;
    return false;
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
    const started = performance.now();
    const stats = this.learner.step(x, y);
    const seconds = (performance.now() - started) / 1000;
    tf.dispose([x, y]);
    const step = completed + 1;
    const train: Record<string, number> = {
      "charts/step": step,
      "losses/loss": stats.loss,
      "perf/step_seconds": seconds,
    };
    if (stats.sgLosses.length > 0)
      train["losses/sg_loss"] = stats.sgLosses.reduce((a, b) => a + b, 0) / stats.sgLosses.length;
    if (!this.isEvalStep(step)) return { train };
    return { train, eval: { "charts/step": step, ...this.evaluate() } };
  }

  /** Test loss and accuracy over the whole test split, in chunks of 1000. */
  evaluate(): Record<string, number> {
    const { pixels, count } = this.test;
    let loss = 0;
    let correct = 0;
    for (let start = 0; start < count; start += 1000) {
      const m = Math.min(1000, count - start);
      const x = tf.tensor2d(this.test.x.subarray(start * pixels, (start + m) * pixels), [m, pixels]);
      const y = tf.tensor2d(this.test.y.subarray(start * CLASSES, (start + m) * CLASSES), [m, CLASSES]);
      const out = this.learner.predict(x);
      loss += (tf.tidy(() => lossValue("softmax", out, y).dataSync()[0]) as number) * m;
      correct += accuracy("softmax", out, y) * m;
      tf.dispose([x, y, out]);
    }
    return { "eval/test_loss": loss / count, "eval/test_accuracy": correct / count };
  }

  tensors(): Record<string, NamedTensorData> {
    const { tensors } = this.learner.stateTensors();
    return Object.fromEntries(
      Object.entries(tensors).map(([name, t]) => [
        name,
        { dtype: "F32", shape: t.shape, data: t.dataSync() as Float32Array },
      ]),
    );
  }

  meta(): unknown {
    const { steps, netOptSteps, sgOptSteps } = this.learner.stateTensors();
    return { steps, netOptSteps, sgOptSteps, rng: this.rng.state() };
  }

  load(tensors: Readonly<Record<string, NamedTensorData>>, meta: unknown): void {
    const m = meta as { steps: number; netOptSteps: number; sgOptSteps: number; rng: number[] };
    const ts = Object.fromEntries(
      Object.entries(tensors).map(([name, t]) => [name, tf.tensor(Float32Array.from(t.data), [...t.shape])]),
    );
    this.learner.loadState(ts, m);
    this.rng = Rng.fromState(m.rng);
  }

  dispose(): void {
    this.learner.dispose();
  }
}
