/**
 * `sgprop diagnose` for a bandit run: the feed-forward SparseNet of a saved checkpoint, its live
 * theta, and a pool drawn from the diagnosis's own streams (never the run's).
 */
import * as tf from "@tensorflow/tfjs-core";
import { ensureBackend } from "../backend.js";
import {
  type BanditTrainOptions,
  type ResolvedBanditOptions,
  resolveBanditOptions,
} from "../bandit/options.js";
import { BANDIT_CHECKPOINT_FORMAT } from "../bandit/trainer.js";
import type { BanditFactory, ContextualBandit } from "../bandit/types.js";
import { readCheckpointDir } from "../checkpoint.js";
import { InvalidConfigError } from "../feedforward/errors.js";
import { FeedforwardSparseNet } from "../feedforward/sparsenet.js";
import { feedforwardShapes } from "../feedforward/sparsenetConfig.js";
import { BANDIT_DIAGNOSE_STREAMS, trainerStreams } from "../streams.js";
import { feedforwardDiagnosisMoments } from "./feedforward.js";
import type { DiagnosisMoments } from "./types.js";

/**
 * The default pool of the bandit diagnosis: large enough that the target's sampling variance is
 * under 10% of the smallest MSE reported at batch 512 when the best estimator is backprop
 * (that needs N > 10 x 512); the report checks it and names a larger pool where it is not.
 */
export const DEFAULT_BANDIT_DIAGNOSIS_POOL = 8192;

export interface BanditDiagnosisOptions {
  /** The run's bandit (or its factory, as the trainer options take it): it must have sampleFrom/scoreFrom. */
  readonly bandit: ContextualBandit | BanditFactory;
  /** Pool size (default {@link DEFAULT_BANDIT_DIAGNOSIS_POOL}). */
  readonly pool?: number;
  /** Seed of the diagnosis's streams (default the run's seed). */
  readonly seed?: number;
  /** Samples per kernel pass (default 256). */
  readonly chunk?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface BanditDiagnosis {
  readonly moments: DiagnosisMoments;
  /** The run's options as the checkpoint recorded them. */
  readonly options: Omit<ResolvedBanditOptions, "bandit">;
  /** Training steps completed at the checkpoint. */
  readonly completed: number;
  readonly seed: number;
}

/** Pool moments of a bandit checkpoint's SparseNet (see diagnose/feedforward.ts). */
export async function diagnoseBanditCheckpoint(
  checkpointDir: string,
  o: BanditDiagnosisOptions,
): Promise<BanditDiagnosis> {
  const { tensors, meta: rawMeta } = await readCheckpointDir(checkpointDir);
  const meta = rawMeta as { format?: string; options: Partial<BanditTrainOptions>; completed: number };
  if (meta.format !== BANDIT_CHECKPOINT_FORMAT)
    throw new InvalidConfigError("checkpoint format", meta.format, BANDIT_CHECKPOINT_FORMAT);
  const { bandit: _ignored, ...options } = resolveBanditOptions(meta.options);
  if (options.model !== "sparsenet")
    throw new InvalidConfigError("model", options.model, "sparsenet (the diagnosis is per SparseNet neuron)");
  await ensureBackend();
  const bandit =
    typeof o.bandit === "function"
      ? (o.bandit as BanditFactory)({
          seed: options.seed,
          pFlip: options.pFlip,
          classes: options.classes,
          ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
        })
      : o.bandit;
  const config = {
    inputDim: bandit.contextSize,
    numLayers: options.numLayers,
    width: options.width,
    neuronDim: options.neuronDim,
    numSlots: options.numSlots,
    numParents: options.numParents,
    numActions: bandit.numActions,
    residual: options.residual,
  };
  const tensor = (name: string) => {
    const t = tensors[name];
    if (t === undefined) throw new InvalidConfigError(`checkpoint tensor ${name}`, "missing", "present");
    return t;
  };
  const params: Record<string, tf.Tensor> = {};
  for (const name of Object.keys(feedforwardShapes(config))) {
    const t = tensor(name);
    params[name] = tf.tensor(t.data, [...t.shape], "float32");
  }
  const net = new FeedforwardSparseNet(
    config,
    {
      firstLayerInputIdx: Int32Array.from(tensor("firstLayerInputIdx").data),
      parentIdx: Int32Array.from(tensor("parentIdx").data),
    },
    params,
  );
  tf.dispose(Object.values(params));
  const thetaData = tensor("theta").data;
  const theta = Array.from({ length: config.numLayers }, (_, l) =>
    Float32Array.from(thetaData.subarray(l * config.width, (l + 1) * config.width)),
  );
  const seed = o.seed ?? options.seed;
  try {
    const moments = feedforwardDiagnosisMoments(net, {
      bandit,
      streams: trainerStreams(seed, BANDIT_DIAGNOSE_STREAMS),
      pool: o.pool ?? DEFAULT_BANDIT_DIAGNOSIS_POOL,
      theta,
      sgMode: options.sgMode,
      trainerBatch: options.batchSize,
      ...(o.chunk !== undefined ? { chunk: o.chunk } : {}),
      ...(o.onProgress !== undefined ? { onProgress: o.onProgress } : {}),
    });
    return { moments, options, completed: meta.completed, seed };
  } finally {
    net.dispose();
  }
}
