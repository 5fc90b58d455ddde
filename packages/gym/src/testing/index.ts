/**
 * `@sgprop/gym/testing`: fast-check arbitraries for spaces and the Gymnasium contract as named,
 * shrinking properties. It needs `fast-check` (an optional peer dependency); `@sgprop/gym` itself
 * never loads this module.
 */
export {
  type ActionSequenceOptions,
  actionSequences,
  arbitraryOf,
  nonMemberOf,
  type SeedDomain,
  seeds,
} from "./arbitraries.js";
export type { CheckpointInput, InvalidActionInput } from "./contract-checks.js";
export {
  type EnvProperties,
  type EnvPropertiesOptions,
  type EnvProperty,
  EnvPropertyError,
  type EnvPropertyInputs,
  type EnvPropertyName,
  envProperties,
  propertyList,
  replayEnvProperty,
} from "./properties.js";
export type { EpisodesInput, TrajectoryEvent } from "./rollout.js";
export { firstDifference, snapshot, toSource } from "./values.js";
export {
  type MakeVector,
  syncVectorUnderTest,
  type VectorInput,
  type VectorResetView,
  type VectorStepView,
  type VectorUnderTest,
} from "./vector-check.js";
export type { WrapperInput } from "./wrapper-checks.js";
