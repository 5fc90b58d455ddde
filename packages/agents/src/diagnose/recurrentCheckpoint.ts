/**
 * The recurrent diagnosis from a POPGym trainer checkpoint folder (`saveCheckpoint` of
 * createPopgymTrainer): the SparseNet's parameters, connectivity and theta, and the run's settings.
 */
import * as tf from "@tensorflow/tfjs-core";
import { ensureBackend } from "../backend.js";
import { CheckpointFormatError, readCheckpointDir } from "../checkpoint.js";
import type { ParamMap } from "../recurrent/params.js";
import { SparseNetPolicy } from "../recurrent/sparsenet.js";
import { SPARSENET_POLICY_PARAMS, SPARSENET_SG_PARAMS } from "../recurrent/sparsenetConfig.js";
import {
  type LabyrinthEnvFactory,
  type PopgymTrainOptions,
  resolvePopgymOptions,
} from "../reinforce/options.js";
import { diagnoseRecurrentSparseNet, type RecurrentDiagnosisOptions } from "./recurrent.js";
import type { DiagnosisMoments } from "./types.js";

export interface RecurrentCheckpointDiagnosisOptions extends RecurrentDiagnosisOptions {
  /** Builds the labyrinths: (spec) => new LabyrinthVectorEnv(spec) from @sgprop/popgym. */
  readonly envFactory: LabyrinthEnvFactory;
}

/**
 * {@link diagnoseRecurrentSparseNet} at the checkpoint in `dir` (a folder written by a POPGym
 * SparseNet trainer): its parameters, its per-neuron theta (1 for a backprop run) and its run's
 * settings (task, maze size and generator, episode and rollout length, numEnvs, gamma, entropy,
 * theta schedule rate, SG mode). Throws CheckpointFormatError for any other checkpoint.
 */
export async function diagnoseRecurrentCheckpoint(
  dir: string,
  options: RecurrentCheckpointDiagnosisOptions,
): Promise<DiagnosisMoments> {
  const { tensors, meta } = await readCheckpointDir(dir);
  const m = meta as { format?: unknown; options?: PopgymTrainOptions; theta?: number[] } | null;
  if (m?.format !== "sgprop-popgym-trainer/1" || m.options === undefined)
    throw new CheckpointFormatError(
      dir,
      `not a POPGym trainer checkpoint (format ${JSON.stringify(m?.format)})`,
    );
  if (m.options.model !== "sparsenet")
    throw new CheckpointFormatError(
      dir,
      `the diagnosis needs a SparseNet checkpoint, got model ${m.options.model}`,
    );
  const run = resolvePopgymOptions({ ...m.options, envFactory: options.envFactory });
  await ensureBackend();
  const probe = options.envFactory({
    kind: run.env,
    numEnvs: 1,
    mazeDims: run.mazeDims,
    episodeLength: run.episodeLength,
    generator: run.mazeGenerator,
  });
  const read = (name: string) => {
    const t = tensors[name];
    if (t === undefined) throw new CheckpointFormatError(dir, `tensor "${name}" missing`);
    return t;
  };
  // tf.variable keeps its initial value alive: build inside a tidy so those copies are released.
  const params: ParamMap = new Map();
  tf.tidy(() => {
    for (const name of [...SPARSENET_POLICY_PARAMS, ...SPARSENET_SG_PARAMS]) {
      const t = read(`param.${name}`);
      params.set(name, tf.variable(tf.tensor(t.data as Float32Array, [...t.shape], "float32"), false));
    }
  });
  const policy = new SparseNetPolicy(
    { ...run, obsDim: probe.obsDim, numActions: probe.numActions },
    params,
    Int32Array.from(read("parentIdx").data),
  );
  try {
    const theta = m.theta ?? new Array<number>(policy.dims.W).fill(1);
    return diagnoseRecurrentSparseNet(policy, theta, { ...run, envFactory: options.envFactory }, options);
  } finally {
    policy.dispose();
  }
}
