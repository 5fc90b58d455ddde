/**
 * The random streams of the trainers, each `Rng.derive(seed, name)` of the user's seed and its own
 * purpose name. Environments derive theirs under their own package's names ("mnist-bandit/...";
 * POPGym mazes come from per-reset seeds, see the README's tree of streams), so a trainer and an
 * env of one run can never draw the same numbers. This file is the one place the names live.
 */
import { Rng } from "@sgprop/gym";

export const BANDIT_TRAINER_STREAMS = {
  /** Initial weights and the SparseNet's random connectivity. */
  init: "agents/bandit/init",
  /** The uniforms that sample each context's action from the policy. */
  actions: "agents/bandit/actions",
} as const;

export const POPGYM_TRAINER_STREAMS = {
  /** Initial weights and the SparseNet's random connectivity. */
  init: "agents/popgym/init",
  /** The uniforms that sample each env's action from the policy. */
  actions: "agents/popgym/actions",
  /** LabyrinthExplore's reward replacement: each step's reward becomes -1/episodeLength with a fixed probability (paper code). */
  exploreRewards: "agents/popgym/explore-rewards",
} as const;

/**
 * The bandit gradient diagnosis's pool (`sgprop diagnose`): its own contexts, actions and reward flips,
 * so diagnosing a checkpoint never replays or advances a stream of the run it diagnoses.
 */
export const BANDIT_DIAGNOSE_STREAMS = {
  contexts: "agents/diagnose/contexts",
  actions: "agents/diagnose/actions",
  rewardNoise: "agents/diagnose/reward-noise",
} as const;

/**
 * The small diagnosis `--during-training` runs after training step `step`: streams named by the
 * step, so the diagnosis columns do not depend on when a run was resumed and no state of them
 * goes into checkpoints.
 */
export function duringTrainingStreams(step: number): Record<keyof typeof BANDIT_DIAGNOSE_STREAMS, string> {
  const at = (name: string) => `agents/diagnose/during-training/step-${step}/${name}`;
  return { contexts: at("contexts"), actions: at("actions"), rewardNoise: at("reward-noise") };
}

/**
 * The gradient diagnosis of a POPGym checkpoint (`sgprop diagnose`, issue 19): its own episodes,
 * never the trainer's streams, so diagnosing a run changes nothing of it.
 */
export const POPGYM_DIAGNOSE_STREAMS = {
  /** Seeds of the fresh mazes the diagnosis's episodes run on. */
  mazes: "agents/diagnose/popgym-mazes",
  /** The uniforms that sample the diagnosis episodes' actions from the checkpoint's policy. */
  actions: "agents/diagnose/popgym-actions",
  /** LabyrinthExplore's reward replacement in the diagnosis episodes. */
  exploreRewards: "agents/diagnose/popgym-explore-rewards",
} as const;

/** The POPGym `--during-training` diagnosis after batch `batch` (as {@link duringTrainingStreams}). */
export function popgymDuringTrainingStreams(
  batch: number,
): Record<keyof typeof POPGYM_DIAGNOSE_STREAMS, string> {
  const at = (name: string) => `agents/diagnose/during-training/batch-${batch}/${name}`;
  return {
    mazes: at("popgym-mazes"),
    actions: at("popgym-actions"),
    exploreRewards: at("popgym-explore-rewards"),
  };
}

type StreamsOf<T> = { [K in keyof T]: Rng };

/** Every stream a trainer of `names` owns for `seed`, built from one table so none is forgotten. */
export function trainerStreams<T extends Record<string, string>>(seed: number, names: T): StreamsOf<T> {
  const out: Partial<StreamsOf<T>> = {};
  for (const key of Object.keys(names) as (keyof T)[]) out[key] = Rng.derive(seed, names[key] as string);
  return out as StreamsOf<T>;
}
