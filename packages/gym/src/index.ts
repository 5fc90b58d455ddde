export { assertEnv, type CheckEnvOptions, checkEnv, type EnvCheckReport } from "./checker.js";
export { describeValue } from "./describe.js";
export {
  type CheckpointableEnv,
  Env,
  type EnvCoreState,
  type EnvMetadata,
  type EnvSpec,
  type Info,
  isCheckpointable,
  type ResetArgs,
  type StepResult,
} from "./env.js";
export {
  ActionOutOfSpaceError,
  DuplicateEnvError,
  EnvCheckError,
  InvalidEnvIdError,
  InvalidSpaceError,
  ResetNeededError,
  UnknownEnvError,
  UnsupportedSpaceError,
} from "./errors.js";
export * from "./random.js";
export {
  type ActOf,
  closeIds,
  type EnvRegistration,
  editDistance,
  type MakeOptions,
  make,
  type ObsOf,
  type ParsedEnvId,
  parseEnvId,
  type RegisteredEnvs,
  register,
  registry,
  spec,
  unregister,
} from "./registry.js";
export * from "./spaces/index.js";
export {
  type AutoresetMode,
  SyncVectorEnv,
  type SyncVectorEnvOptions,
  type VectorResetArgs,
  type VectorStepOptions,
  type VectorStepResult,
} from "./vector.js";
export { ActionWrapper, ObservationWrapper, RewardWrapper, Wrapper } from "./wrapper.js";
export { FlattenObservation, type FlattenObservationOptions } from "./wrappers/flatten-observation.js";
export { type EpisodeStatistics, RecordEpisodeStatistics } from "./wrappers/record-episode-statistics.js";
export { TimeLimit } from "./wrappers/time-limit.js";
