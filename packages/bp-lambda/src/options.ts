/**
 * Options of a BP(lambda) run, with the paper's settings as defaults per task (the authors' YAML
 * files and scripts, scripts/configs/*.yaml; where their YAML holds the no-SG baseline, the SG
 * settings come from the same files' synth_params). Every field may be left out.
 */
import type { MethodName } from "./methods.js";

export const TASKS = ["toy", "copy-repeat", "seq-mnist"] as const;
export type TaskName = (typeof TASKS)[number];

export interface BpLambdaTrainOptions {
  /** toy (the authors' linedraw), copy-repeat or seq-mnist. Default toy. */
  readonly task?: TaskName;
  /** bp-lambda, bptt, bptt-sg or no-bptt. Default bp-lambda. */
  readonly method?: MethodName;
  /** Truncation of bptt / bptt-sg (Table 2: 2..5); bptt without n is full BPTT. */
  readonly n?: number;
  /** BP(lambda)'s lambda: 1 (the YAML's synth_lambda). */
  readonly lambda?: number;
  /** Discount of future gradients: toy 1, copy-repeat and seq-mnist 0.9 (synth_gamma). */
  readonly gamma?: number;
  /** Synthetic-gradient factor fed to the network: toy and copy-repeat 1, seq-mnist 0.1 (sg_weight). */
  readonly sgScale?: number;
  /** Per-step norm clip of BP(lambda)'s synthesiser update: 1 (synthesiser.py). */
  readonly stepClipNorm?: number;
  /**
   * LSTM with bp-lambda / no-bptt: carry each cell's gradient back through its forget gate (the
   * eligibility vectors of the authors' `use_etraces: true`). Default false: their copy-repeat and
   * seq-mnist configurations set `use_etraces: false`, i.e. one-step parameter gradients.
   */
  readonly cellTraces?: boolean;
  readonly seed?: number;
  /** Recurrent core: toy rnn, copy-repeat and seq-mnist lstm. */
  readonly core?: "rnn" | "lstm";
  /** Hidden units: toy 30, copy-repeat 100, seq-mnist 30. */
  readonly hiddenSize?: number;
  /** Sequences per batch: toy 10, copy-repeat 100, seq-mnist 50. */
  readonly batchSize?: number;
  /** Adam learning rate of the core: toy 1e-3 (0 with fixedRnn), copy-repeat 1e-3, seq-mnist 3e-4. */
  readonly learningRate?: number;
  /** Adam learning rate of the readout: as the core's. */
  readonly readoutLearningRate?: number;
  /** Adam learning rate of the synthesiser: toy 1e-4, copy-repeat 1e-5, seq-mnist 3e-4. */
  readonly sgLearningRate?: number;
  /** Training epochs (toy: per sequence length): toy 250 (10 with fixedRnn), copy-repeat 15000, seq-mnist 50. */
  readonly epochs?: number;
  /** Batches per epoch: toy 100, copy-repeat 10 (1000 examples per epoch), seq-mnist 80% of the training split. */
  readonly batchesPerEpoch?: number;
  /** Toy: the fixed linear RNN of Figs. 2/6 (identity, core and readout frozen) instead of a learning tanh RNN. */
  readonly fixedRnn?: boolean;
  /** Toy: first sequence length (10 with fixedRnn, else 2). */
  readonly length?: number;
  /** Toy: increase of the length after a solved stage: 2. */
  readonly lengthStep?: number;
  /** Toy: the last length tried: 128. */
  readonly maxLength?: number;
  /** Toy: a length is solved when the mean loss of the last `solvedWindow` epochs is below this: 0.05. */
  readonly solvedLoss?: number;
  /** Toy: epochs averaged by the criterion: 20. */
  readonly solvedWindow?: number;
  /** Toy: input/target pairs: 3 for the learning RNN (the paper), 1 with fixedRnn (the authors' YAML). */
  readonly numPoints?: number;
  /** Copy-repeat: a batch below this many bits moves the curriculum on: 0.15. */
  readonly solvedBits?: number;
  /** Seq-MNIST: folder of MNIST IDX files; default the bundled 10,000 digits. */
  readonly dataDir?: string;
  /** Seq-MNIST: test images per evaluation (at each epoch's end): 2000, all with full MNIST when 0. */
  readonly evalSize?: number;
}

export type ResolvedBpLambdaOptions = Required<Omit<BpLambdaTrainOptions, "n" | "dataDir">> & {
  readonly n: number | undefined;
  readonly dataDir: string | undefined;
};

export class BpLambdaOptionError extends Error {
  constructor(
    readonly key: string,
    readonly value: unknown,
    expected: string,
  ) {
    super(`invalid ${key}: ${JSON.stringify(value)} (expected ${expected})`);
    this.name = "BpLambdaOptionError";
  }
}

/** Fills the paper's defaults for the chosen task and checks every value. */
export function resolveBpLambdaOptions(o: BpLambdaTrainOptions = {}): ResolvedBpLambdaOptions {
  const task = o.task ?? "toy";
  if (!(TASKS as readonly string[]).includes(task))
    throw new BpLambdaOptionError("task", task, TASKS.join(" | "));
  const toy = task === "toy";
  const fixed = toy && (o.fixedRnn ?? false);
  const paperLr = toy ? (fixed ? 0 : 1e-3) : task === "copy-repeat" ? 1e-3 : 3e-4;
  const r: ResolvedBpLambdaOptions = {
    task,
    method: o.method ?? "bp-lambda",
    n: o.n,
    lambda: o.lambda ?? 1,
    gamma: o.gamma ?? (toy ? 1 : 0.9),
    sgScale: o.sgScale ?? (task === "seq-mnist" ? 0.1 : 1),
    stepClipNorm: o.stepClipNorm ?? 1,
    cellTraces: o.cellTraces ?? false,
    seed: o.seed ?? 0,
    core: o.core ?? (toy ? "rnn" : "lstm"),
    hiddenSize: o.hiddenSize ?? (task === "copy-repeat" ? 100 : 30),
    batchSize: o.batchSize ?? (toy ? 10 : task === "copy-repeat" ? 100 : 50),
    learningRate: o.learningRate ?? paperLr,
    readoutLearningRate: o.readoutLearningRate ?? o.learningRate ?? paperLr,
    sgLearningRate: o.sgLearningRate ?? (toy ? 1e-4 : task === "copy-repeat" ? 1e-5 : 3e-4),
    epochs: o.epochs ?? (toy ? (fixed ? 10 : 250) : task === "copy-repeat" ? 15000 : 50),
    batchesPerEpoch: o.batchesPerEpoch ?? (toy ? 100 : task === "copy-repeat" ? 10 : 0),
    fixedRnn: fixed,
    length: o.length ?? (fixed ? 10 : 2),
    lengthStep: o.lengthStep ?? 2,
    maxLength: o.maxLength ?? 128,
    solvedLoss: o.solvedLoss ?? 0.05,
    solvedWindow: o.solvedWindow ?? 20,
    numPoints: o.numPoints ?? (fixed ? 1 : 3),
    solvedBits: o.solvedBits ?? 0.15,
    dataDir: o.dataDir,
    evalSize: o.evalSize ?? 2000,
  };
  const positiveInt = (key: keyof ResolvedBpLambdaOptions, min = 1) => {
    const v = r[key];
    if (!(typeof v === "number" && Number.isInteger(v) && v >= min))
      throw new BpLambdaOptionError(key, v, `an integer >= ${min}`);
  };
  const nonNegative = (key: keyof ResolvedBpLambdaOptions) => {
    const v = r[key];
    if (!(typeof v === "number" && Number.isFinite(v) && v >= 0))
      throw new BpLambdaOptionError(key, v, "a finite number >= 0");
  };
  for (const k of [
    "hiddenSize",
    "batchSize",
    "epochs",
    "length",
    "lengthStep",
    "maxLength",
    "solvedWindow",
    "numPoints",
  ] as const)
    positiveInt(k);
  for (const k of ["seed", "batchesPerEpoch", "evalSize"] as const) positiveInt(k, 0);
  for (const k of [
    "learningRate",
    "readoutLearningRate",
    "sgLearningRate",
    "solvedLoss",
    "solvedBits",
  ] as const)
    nonNegative(k);
  if (r.core !== "rnn" && r.core !== "lstm") throw new BpLambdaOptionError("core", r.core, "rnn | lstm");
  if (r.fixedRnn && r.core !== "rnn") throw new BpLambdaOptionError("core", r.core, "rnn with fixedRnn");
  return r;
}

/**
 * Training batches the run plans (its `total`): toy stages x epochs x batches per epoch; for
 * seq-mnist without `batchesPerEpoch`, `trainCount` (default the bundled 8,000 training digits)
 * sets the epoch.
 */
export function plannedBatches(r: ResolvedBpLambdaOptions, trainCount = 8000): number {
  const perEpoch =
    r.batchesPerEpoch > 0 ? r.batchesPerEpoch : Math.max(1, Math.floor((0.8 * trainCount) / r.batchSize));
  const stages =
    r.task === "toy" && !r.fixedRnn ? Math.floor((r.maxLength - r.length) / r.lengthStep) + 1 : 1;
  return r.epochs * perEpoch * stages;
}
