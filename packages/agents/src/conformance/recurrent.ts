import {
  type CaseChecker,
  type CheckOutcome,
  Comparison,
  type GoldenFile,
  type GoldenTensor,
  goldenConfigNumber,
  goldenExpected,
  goldenScalar,
  goldenTensor,
} from "@sgprop/conformance";
import * as tf from "@tensorflow/tfjs-core";
import { ensureBackend } from "../backend.js";
import { disposeLossTensors, lossTensors, type SequenceBatch } from "../recurrent/batch.js";
import { RnnLearner, SparseNetLearner, type UpdateHyper } from "../recurrent/learner.js";
import { toVariables } from "../recurrent/params.js";
import { RnnPolicy } from "../recurrent/rnn.js";
import { RNN_PARAMS, type RnnCell, type RnnState } from "../recurrent/rnnConfig.js";
import { SparseNetPolicy } from "../recurrent/sparsenet.js";
import { sparseNetBptt } from "../recurrent/sparsenetBptt.js";
import { SPARSENET_POLICY_PARAMS, SPARSENET_SG_PARAMS } from "../recurrent/sparsenetConfig.js";
import { temporalThetaSchedule } from "../sgprop/thetaSchedule.js";

/*
 * Tolerances for our float32 tensors against the float64 golden numbers (golden README section 9).
 * A tensor passes when every entry satisfies |a - e| <= abs + rel |e|, with abs scaled by the
 * tensor's largest |e| so that entries near zero are judged against the tensor's scale.
 */
/** Forward values (logits, log-probabilities, entropy, returns, losses): ~1e-6 relative expected. */
const FORWARD_REL = 2e-5;
/** Gradients, recorded true/mixed gradients, predictions, SG loss, theta: 1e-5 to 1e-4 relative. */
const GRADIENT_REL = 2e-4;
/** Parameters after Adam steps: |Delta| <= 1e-2 * lr per step (tiny gradients move by lr * g/(|g|+eps)). */
const ADAM_LR_FRACTION = 1e-2;
/** The schedule is exact arithmetic on the file's theta (float64 in both). */
const SCHEDULE_ABS = 1e-12;

function maxAbs(data: readonly number[]): number {
  let m = 0;
  for (const v of data) m = Math.max(m, Math.abs(v));
  return m;
}

function compareScaled(
  cmp: Comparison,
  name: string,
  actual: ArrayLike<number>,
  expected: GoldenTensor,
  rel: number,
): void {
  cmp.tensor(name, actual, expected, { abs: rel * maxAbs(expected.data), rel });
}

function tensorOf(file: GoldenFile, name: string): tf.Tensor {
  const t = goldenTensor(file, name);
  return tf.tensor(Float32Array.from(t.data), [...t.shape], "float32");
}

function batchOf(file: GoldenFile): SequenceBatch {
  const obs = goldenTensor(file, "obs");
  const [T, B] = obs.shape as [number, number, number];
  const ints = (name: string) => Int32Array.from(goldenTensor(file, name, [T, B]).data);
  return {
    numSteps: T,
    numEnvs: B,
    obs: Float32Array.from(obs.data),
    episodeStarts: ints("episodeStarts"),
    actions: ints("actions"),
    rewards: Float32Array.from(goldenTensor(file, "rewards", [T, B]).data),
    dones: ints("dones"),
    valid: ints("validMask"),
  };
}

function hyperOf(
  file: GoldenFile,
  algorithm: UpdateHyper["algorithm"],
  sgMode: UpdateHyper["sgMode"],
): UpdateHyper {
  const has = (k: string) => file.config !== undefined && typeof file.config[k] === "number";
  return {
    algorithm,
    learningRate: goldenConfigNumber(file, "learningRate"),
    sgLearningRate: has("sgLearningRate") ? goldenConfigNumber(file, "sgLearningRate") : 1e-5,
    maxGradNorm: goldenConfigNumber(file, "maxGradNorm"),
    gamma: goldenConfigNumber(file, "gamma"),
    entropyCoef: goldenConfigNumber(file, "entropyCoef"),
    adaptiveTheta: file.config?.adaptiveTheta !== false,
    thetaMomentum: has("thetaMomentum") ? goldenConfigNumber(file, "thetaMomentum") : 0.9,
    thetaRho: has("thetaScheduleRho") ? goldenConfigNumber(file, "thetaScheduleRho") : 0.1,
    sgMode,
  };
}

function compareForward(
  cmp: Comparison,
  file: GoldenFile,
  batch: SequenceBatch,
  hyper: UpdateHyper,
  rec: { logits: tf.Tensor; logProbs: tf.Tensor; entropy: tf.Tensor },
  losses: { totalLoss: number; policyLoss: number; entropyLoss: number },
  numActions: number,
  obsDim: number,
): void {
  const lt = lossTensors(batch, obsDim, numActions, hyper);
  compareScaled(cmp, "returns", lt.returns, goldenExpected(file, "returns"), FORWARD_REL);
  compareScaled(
    cmp,
    "normalizedReturns",
    lt.normalized,
    goldenExpected(file, "normalizedReturns"),
    FORWARD_REL,
  );
  disposeLossTensors(lt);
  compareScaled(cmp, "logits", rec.logits.dataSync(), goldenExpected(file, "logits"), FORWARD_REL);
  compareScaled(cmp, "logProbs", rec.logProbs.dataSync(), goldenExpected(file, "logProbs"), FORWARD_REL);
  compareScaled(cmp, "entropy", rec.entropy.dataSync(), goldenExpected(file, "entropy"), FORWARD_REL);
  for (const k of ["policyLoss", "entropyLoss", "totalLoss"] as const) {
    const e = goldenScalar(file, k);
    cmp.scalar(k, losses[k], e, { abs: FORWARD_REL * Math.max(Math.abs(e), 1e-3), rel: FORWARD_REL });
  }
}

function compareParams(
  cmp: Comparison,
  file: GoldenFile,
  prefix: string,
  params: ReadonlyMap<string, tf.Tensor>,
  names: readonly string[],
  steps: number,
): void {
  const lr = goldenConfigNumber(file, "learningRate");
  const sgLr = file.config?.sgLearningRate !== undefined ? goldenConfigNumber(file, "sgLearningRate") : lr;
  for (const name of names) {
    const t = params.get(name);
    if (t === undefined) {
      cmp.fail(`${prefix}${name}: parameter missing`);
      continue;
    }
    const rate = name.startsWith("sg") ? sgLr : lr;
    cmp.tensor(`${prefix}${name}`, t.dataSync(), goldenExpected(file, `${prefix}${name}`), {
      abs: ADAM_LR_FRACTION * rate * steps,
      rel: 1e-6,
    });
  }
}

function sparseNetFromFile(file: GoldenFile): SparseNetPolicy {
  const num = (k: string) => goldenConfigNumber(file, k);
  const config = {
    obsDim: num("obsDim"),
    numActions: num("actionDim"),
    width: num("width"),
    neuronDim: num("neuronDim"),
    numParents: num("numParents"),
    numSlots: num("numSlots"),
    numInputNeurons: num("numInputNeurons"),
    embedHidden: num("inputEmbeddingSize"),
    embedDim: num("inputHiddenSize"),
    actorSlots: num("actorNumSlots"),
  };
  const raw = new Map<string, tf.Tensor>();
  for (const name of [...SPARSENET_POLICY_PARAMS, ...SPARSENET_SG_PARAMS])
    raw.set(name, tensorOf(file, name));
  const params = toVariables(raw);
  for (const t of raw.values()) t.dispose();
  return new SparseNetPolicy(config, params, Int32Array.from(goldenTensor(file, "parentIdx").data));
}

/** sparsenet-recurrent: forward, backprop, schedule, SG-mixed BPTT in both modes, SG loss, theta, updates. */
function checkSparseNetRecurrent(file: GoldenFile): CheckOutcome {
  const cmp = new Comparison();
  const batch = batchOf(file);
  const thetaBase = goldenTensor(file, "thetaBase").data;
  const initialHidden = tensorOf(file, "initialHidden");
  const T = batch.numSteps;
  const policyNames = SPARSENET_POLICY_PARAMS;
  const allNames = [...SPARSENET_POLICY_PARAMS, ...SPARSENET_SG_PARAMS];
  try {
    // Forward and plain BPTT.
    {
      const policy = sparseNetFromFile(file);
      const hyper = hyperOf(file, "backprop", "prediction");
      const lt = lossTensors(batch, policy.config.obsDim, policy.config.numActions, hyper);
      const r = sparseNetBptt(policy, batch, lt, {
        entropyCoef: hyper.entropyCoef,
        record: true,
        initialHidden,
      });
      disposeLossTensors(lt);
      const rec = r.record;
      if (rec !== undefined) {
        compareForward(cmp, file, batch, hyper, rec, r, policy.config.numActions, policy.config.obsDim);
        for (const t of [rec.logits, rec.logProbs, rec.entropy]) t.dispose();
      }
      for (const name of policyNames) {
        compareScaled(
          cmp,
          `grad.backprop.${name}`,
          (r.grads.get(name) as tf.Tensor).dataSync(),
          goldenExpected(file, `grad.backprop.${name}`),
          GRADIENT_REL,
        );
      }
      for (const t of r.grads.values()) t.dispose();
      const schedule = temporalThetaSchedule(thetaBase, policy.graph, T, hyper.thetaRho);
      cmp.tensor("thetaSchedule", schedule, goldenExpected(file, "thetaSchedule"), {
        abs: SCHEDULE_ABS,
        rel: 0,
      });
      policy.dispose();
    }
    // sgprop in both modes (prediction: two updates), then backprop updates.
    const runs: { mode: UpdateHyper["sgMode"]; tag: string; suffix: string; after: string }[] = [
      { mode: "prediction", tag: "sgprop", suffix: "", after: "after" },
      { mode: "positive_projection", tag: "sgprop_posproj", suffix: "Posproj", after: "afterPosproj" },
    ];
    for (const run of runs) {
      const policy = sparseNetFromFile(file);
      const learner = new SparseNetLearner(policy, hyperOf(file, "sgprop", run.mode), thetaBase);
      learner.update(batch, {
        initialHidden,
        inspect: (r) => {
          for (const name of policyNames) {
            compareScaled(
              cmp,
              `grad.${run.tag}.${name}`,
              (r.grads.get(name) as tf.Tensor).dataSync(),
              goldenExpected(file, `grad.${run.tag}.${name}`),
              GRADIENT_REL,
            );
          }
          const rec = r.record;
          if (run.mode === "prediction") {
            compareScaled(
              cmp,
              "trueGrad",
              rec?.trueGrad?.dataSync() ?? [],
              goldenExpected(file, "trueGrad"),
              GRADIENT_REL,
            );
            compareScaled(
              cmp,
              "sgPrediction",
              rec?.sgPrediction?.dataSync() ?? [],
              goldenExpected(file, "sgPrediction"),
              GRADIENT_REL,
            );
          }
          compareScaled(
            cmp,
            `mixedGrad${run.suffix}`,
            rec?.mixedGrad?.dataSync() ?? [],
            goldenExpected(file, `mixedGrad${run.suffix}`),
            GRADIENT_REL,
          );
          const sgLoss = goldenScalar(file, `sgLoss${run.suffix}`);
          cmp.scalar(`sgLoss${run.suffix}`, r.sgLoss ?? Number.NaN, sgLoss, { abs: 0, rel: GRADIENT_REL });
          for (const name of SPARSENET_SG_PARAMS) {
            const key = `grad.sgLoss${run.suffix}.${name}`;
            compareScaled(
              cmp,
              key,
              r.sgGrads?.get(name)?.dataSync() ?? [],
              goldenExpected(file, key),
              GRADIENT_REL,
            );
          }
          compareScaled(
            cmp,
            `thetaBatch${run.suffix}`,
            r.thetaBatch ?? [],
            goldenExpected(file, `thetaBatch${run.suffix}`),
            GRADIENT_REL,
          );
        },
      });
      compareScaled(
        cmp,
        `thetaAfter${run.suffix}`,
        learner.theta,
        goldenExpected(file, `thetaAfter${run.suffix}`),
        GRADIENT_REL,
      );
      compareParams(cmp, file, `${run.after}.`, policy.params, allNames, 1);
      if (run.mode === "prediction") {
        learner.update(batch, { initialHidden });
        compareScaled(cmp, "thetaAfter2", learner.theta, goldenExpected(file, "thetaAfter2"), GRADIENT_REL);
        compareParams(cmp, file, "after2.", policy.params, allNames, 2);
      }
      learner.dispose();
      policy.dispose();
    }
    {
      const policy = sparseNetFromFile(file);
      const learner = new SparseNetLearner(policy, hyperOf(file, "backprop", "prediction"), 1);
      learner.update(batch, { initialHidden });
      compareParams(cmp, file, "afterBackprop.", policy.params, allNames, 1);
      learner.update(batch, { initialHidden });
      compareParams(cmp, file, "afterBackprop2.", policy.params, allNames, 2);
      learner.dispose();
      policy.dispose();
    }
  } finally {
    initialHidden.dispose();
  }
  return cmp.outcome();
}

function rnnFromFile(file: GoldenFile, cell: RnnCell): RnnPolicy {
  const num = (k: string) => goldenConfigNumber(file, k);
  const embedHidden = cell === "gru" ? num("preprocessorInputSize") : num("inputSize");
  const embedDim = cell === "gru" ? num("preprocessorOutputSize") : num("inputSize");
  const raw = new Map<string, tf.Tensor>();
  for (const name of RNN_PARAMS) raw.set(name, tensorOf(file, name));
  const params = toVariables(raw);
  for (const t of raw.values()) t.dispose();
  return new RnnPolicy(
    {
      cell,
      obsDim: num("obsDim"),
      numActions: num("actionDim"),
      embedHidden,
      embedDim,
      hiddenSize: num("hiddenSize"),
      actorHiddenSize: num("actorHiddenSize"),
    },
    params,
  );
}

/** gru-policy / lstm-policy: forward with resets, loss, gradients, two clipped Adam updates. */
function checkRnn(file: GoldenFile, cell: RnnCell): CheckOutcome {
  const cmp = new Comparison();
  const batch = batchOf(file);
  const policy = rnnFromFile(file, cell);
  const hidden = goldenTensor(file, "initialHidden");
  const H = policy.config.hiddenSize;
  const B = batch.numEnvs;
  const all = tf.tensor(Float32Array.from(hidden.data), [cell === "gru" ? 1 : 2, B, H]);
  const parts = tf.unstack(all) as tf.Tensor2D[];
  all.dispose();
  const initial: RnnState =
    cell === "gru"
      ? { h: parts[0] as tf.Tensor2D }
      : { h: parts[0] as tf.Tensor2D, c: parts[1] as tf.Tensor2D };
  const hyper = hyperOf(file, "backprop", "prediction");
  const learner = new RnnLearner(policy, hyper);
  try {
    learner.update(batch, {
      initial,
      inspect: (g) => {
        const rec = g.record;
        if (rec === undefined) return;
        compareForward(cmp, file, batch, hyper, rec, g, policy.config.numActions, policy.config.obsDim);
        const final =
          rec.final.c !== undefined ? tf.stack([rec.final.h, rec.final.c]) : tf.expandDims(rec.final.h, 0);
        compareScaled(cmp, "finalHidden", final.dataSync(), goldenExpected(file, "finalHidden"), FORWARD_REL);
        final.dispose();
        for (const name of RNN_PARAMS) {
          compareScaled(
            cmp,
            `grad.${name}`,
            (g.grads.get(name) as tf.Tensor).dataSync(),
            goldenExpected(file, `grad.${name}`),
            GRADIENT_REL,
          );
        }
      },
    });
    compareParams(cmp, file, "after.", policy.params, RNN_PARAMS, 1);
    learner.update(batch, { initial });
    compareParams(cmp, file, "after2.", policy.params, RNN_PARAMS, 2);
  } finally {
    learner.dispose();
    policy.dispose();
    for (const t of parts) t.dispose();
  }
  return cmp.outcome();
}

/** Runs a check after making sure a backend is initialised, whatever the caller did first. */
function withBackend(check: (file: GoldenFile) => CheckOutcome): (file: GoldenFile) => Promise<CheckOutcome> {
  return async (file) => {
    await ensureBackend();
    return check(file);
  };
}

/** Checkers for the POPGym policies (cases sparsenet-recurrent, gru-policy, lstm-policy). */
export const recurrentCheckers: readonly CaseChecker[] = [
  { case: "sparsenet-recurrent", check: withBackend(checkSparseNetRecurrent) },
  { case: "gru-policy", check: withBackend((f) => checkRnn(f, "gru")) },
  { case: "lstm-policy", check: withBackend((f) => checkRnn(f, "lstm")) },
];
