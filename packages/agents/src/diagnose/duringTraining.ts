/**
 * `--during-training K` (issue 19): a small gradient diagnosis after training steps (bandit) or
 * batches (POPGym) 1, K, 2K, ... of a SparseNet run, whose numbers become `diagnose/` columns of metrics.csv. It draws from
 * streams named by the step (streams.ts), reads the network and theta without changing them, and
 * runs in its own kernel memory, so the run's training numbers and checkpoints are the same with
 * and without it.
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { ResolvedBanditOptions } from "../bandit/options.js";
import type { ContextualBandit } from "../bandit/types.js";
import type { FeedforwardSparseNet } from "../feedforward/sparsenet.js";
import type { SparseNetPolicy } from "../recurrent/sparsenet.js";
import { duringTrainingStreams, popgymDuringTrainingStreams, trainerStreams } from "../streams.js";
import { feedforwardDiagnosisMoments } from "./feedforward.js";
import { diagnoseRecurrentSparseNet, type RecurrentRunSettings } from "./recurrent.js";
import { diagnosisReport, duringTrainingColumns } from "./report.js";

/** Whether step `step` of a run with `--during-training every` is diagnosed. */
export function diagnosedStep(step: number, every: number): boolean {
  return every > 0 && (step === 1 || step % every === 0);
}

/** The `diagnose/` columns of step `step` (see report.ts duringTrainingColumns). */
export function duringTrainingDiagnosis(
  net: FeedforwardSparseNet,
  theta: readonly tf.Tensor[],
  bandit: ContextualBandit,
  o: Pick<ResolvedBanditOptions, "seed" | "sgMode" | "batchSize" | "duringTrainingPool">,
  step: number,
): Record<string, number> {
  const moments = feedforwardDiagnosisMoments(net, {
    bandit,
    streams: trainerStreams(o.seed, duringTrainingStreams(step)),
    pool: o.duringTrainingPool,
    theta: theta.map((t) => Float32Array.from(t.dataSync() as Float32Array)),
    sgMode: o.sgMode,
    trainerBatch: o.batchSize,
  });
  return duringTrainingColumns(diagnosisReport(moments, { batchSizes: [o.batchSize], neuronRows: false }));
}

/** The POPGym SparseNet's `diagnose/` columns after batch `batch` (one pool sample per episode). */
export function popgymDuringTrainingDiagnosis(
  policy: SparseNetPolicy,
  theta: ArrayLike<number>,
  run: RecurrentRunSettings & { readonly duringTrainingEpisodes: number },
  batch: number,
): Record<string, number> {
  const moments = diagnoseRecurrentSparseNet(policy, theta, run, {
    episodes: run.duringTrainingEpisodes,
    streams: popgymDuringTrainingStreams(batch),
  });
  return duringTrainingColumns(diagnosisReport(moments, { batchSizes: [run.numEnvs], neuronRows: false }));
}
