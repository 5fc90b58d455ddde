/**
 * `--during-training K` (issue 19): a small gradient diagnosis after training steps 1, K, 2K, ...
 * of a bandit SparseNet run, whose numbers become `diagnose/` columns of metrics.csv. It draws from
 * streams named by the step (streams.ts), reads the network and theta without changing them, and
 * runs in its own kernel memory, so the run's training numbers and checkpoints are the same with
 * and without it.
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { ResolvedBanditOptions } from "../bandit/options.js";
import type { ContextualBandit } from "../bandit/types.js";
import type { FeedforwardSparseNet } from "../feedforward/sparsenet.js";
import { duringTrainingStreams, trainerStreams } from "../streams.js";
import { feedforwardDiagnosisMoments } from "./feedforward.js";
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
