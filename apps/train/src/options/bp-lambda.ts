import { type BpLambdaTrainOptions, METHODS, resolveBpLambdaOptions, TASKS } from "@sgprop/bp-lambda/options";
import { InvalidOptionError } from "../errors.js";
import type { ParamSpec, ParamValue } from "./schema.js";
import { seedParam } from "./shared-params.js";

type Resolved = Readonly<Record<string, ParamValue | undefined>>;

/** The package's paper default of `key` given the settings resolved so far (task, fixedRnn, ...). */
function paper(key: keyof BpLambdaTrainOptions, doc: string) {
  return {
    derive: (r: Resolved) => {
      const known = Object.fromEntries(
        Object.entries(r).filter(([, v]) => v !== undefined),
      ) as BpLambdaTrainOptions;
      return resolveBpLambdaOptions({ ...known, [key]: undefined })[key] as ParamValue | undefined;
    },
    doc,
  };
}

const num = (min = 0, exclusiveMin = false) => ({ type: "number" as const, min, exclusiveMin });
const int = (min = 1) => ({ type: "integer" as const, min });

/**
 * BP(lambda) (Pemberton & Costa) hyper-parameters; defaults are the paper's per task, from
 * @sgprop/bp-lambda (its README lists them per method).
 */
export const bpLambdaParams: readonly ParamSpec[] = [
  { key: "task", description: "task", type: { type: "enum", values: TASKS }, default: "toy" },
  {
    key: "method",
    description: "learning method (Table 2)",
    type: { type: "enum", values: METHODS },
    default: "bp-lambda",
  },
  {
    key: "n",
    description: "truncation of --method bptt / bptt-sg (Table 2: 2..5); bptt without it is full BPTT",
    type: int(),
    default: undefined,
    optional: true,
  },
  {
    key: "fixedRnn",
    description: "toy: fixed linear RNN, SG alignment per step (Figs. 2/6)",
    type: { type: "boolean" },
    default: false,
  },
  seedParam,
  {
    key: "lambda",
    description: "BP(lambda)'s trace decay",
    type: { type: "number", min: 0, max: 1 },
    default: 1,
  },
  {
    key: "gamma",
    description: "discount of future gradients",
    type: { type: "number", min: 0, max: 1 },
    default: paper("gamma", "toy 1, else 0.9"),
  },
  {
    key: "sgScale",
    description: "factor of the synthetic gradient fed to the network",
    type: num(),
    default: paper("sgScale", "seq-mnist 0.1, else 1"),
  },
  {
    key: "stepClipNorm",
    description: "norm clip of each step's BP(lambda) synthesiser update",
    type: num(0, true),
    default: 1,
  },
  {
    key: "cellTraces",
    description:
      "LSTM with bp-lambda / no-bptt: carry each cell's gradient back through its forget gate (e-prop eligibility vectors, the authors' use_etraces: true); false = one-step gradients, their copy-repeat and seq-mnist setting",
    type: { type: "boolean" },
    default: false,
  },
  {
    key: "core",
    description: "recurrent core",
    type: { type: "enum", values: ["rnn", "lstm"] },
    default: paper("core", "toy rnn, else lstm"),
  },
  {
    key: "hiddenSize",
    description: "hidden units",
    type: int(),
    default: paper("hiddenSize", "copy-repeat 100, else 30"),
  },
  {
    key: "batchSize",
    description: "sequences per batch",
    type: int(),
    default: paper("batchSize", "toy 10, copy-repeat 100, seq-mnist 50"),
  },
  {
    key: "learningRate",
    description: "Adam learning rate of the core",
    type: num(),
    default: paper("learningRate", "toy 1e-3 (0 with --fixed-rnn), copy-repeat 1e-3, seq-mnist 3e-4"),
  },
  {
    key: "readoutLearningRate",
    description: "Adam learning rate of the readout",
    type: num(),
    default: paper("readoutLearningRate", "the core's"),
  },
  {
    key: "sgLearningRate",
    description: "Adam learning rate of the synthesiser",
    type: num(),
    default: paper("sgLearningRate", "toy 1e-4, copy-repeat 1e-5, seq-mnist 3e-4"),
  },
  {
    key: "epochs",
    description: "epochs (toy: per length)",
    type: int(),
    default: paper("epochs", "toy 250 (10 fixed), copy-repeat 15000, seq-mnist 50"),
  },
  {
    key: "batchesPerEpoch",
    description: "batches per epoch (0: 80% of the training split, seq-mnist)",
    type: int(0),
    default: paper("batchesPerEpoch", "toy 100, copy-repeat 10, seq-mnist 0"),
  },
  {
    key: "length",
    description: "toy: first sequence length",
    type: int(),
    default: paper("length", "10 fixed, else 2"),
  },
  { key: "lengthStep", description: "toy: length increase after a solved stage", type: int(), default: 2 },
  { key: "maxLength", description: "toy: last length tried", type: int(), default: 128 },
  {
    key: "solvedLoss",
    description: "toy: solved below this mean loss over the last epochs",
    type: num(),
    default: 0.05,
  },
  { key: "solvedWindow", description: "toy: epochs the criterion averages", type: int(), default: 20 },
  {
    key: "numPoints",
    description: "toy: input/target pairs",
    type: int(),
    default: paper("numPoints", "3, or 1 with --fixed-rnn"),
  },
  {
    key: "solvedBits",
    description: "copy-repeat: a batch below this many bits moves the curriculum on",
    type: num(),
    default: 0.15,
  },
  {
    key: "dataDir",
    description:
      "seq-mnist: folder with MNIST IDX files (optionally gzipped); default: the bundled 10,000 digits",
    type: { type: "path" },
    default: undefined,
    optional: true,
  },
  {
    key: "evalSize",
    description: "seq-mnist: test images per evaluation (0: the whole test split)",
    type: int(0),
    default: 2000,
  },
];

/** Checks that need several settings at once; names the flag at fault. */
export function checkBpLambda(r: Record<string, ParamValue>): void {
  if (r.method === "bptt-sg" && r.n === undefined) {
    throw new InvalidOptionError("--n", "(unset)", "a truncation >= 1 with --method bptt-sg (e.g. --n 3)");
  }
  if (r.n !== undefined && r.method !== "bptt" && r.method !== "bptt-sg") {
    throw new InvalidOptionError(
      "--n",
      r.n,
      `no value with --method ${r.method} (only bptt and bptt-sg truncate)`,
    );
  }
  if (r.fixedRnn === true && (r.task !== "toy" || r.core !== "rnn")) {
    throw new InvalidOptionError("--fixed-rnn", true, "false unless --task toy with --core rnn");
  }
  if (r.task === "toy" && (r.maxLength as number) < (r.length as number)) {
    throw new InvalidOptionError("--max-length", r.maxLength, `an integer >= --length (${r.length})`);
  }
}
