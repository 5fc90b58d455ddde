export type { Output } from "./cli/output.js";
export { buildProgram, main } from "./cli.js";
export { allCheckers, bundledGoldenFiles, conformanceCommand } from "./commands/conformance.js";
export {
  ConfigFileError,
  ExitCode,
  IncompatibleCheckpointError,
  InvalidOptionError,
  ResultsFolderError,
  UsageError,
} from "./errors.js";
export { banditParams } from "./options/bandit.js";
export { popgymParams } from "./options/popgym.js";
export { type Preset, presets, type TrainKind } from "./options/presets.js";
export { type ResolvedOptions, resolveOptions, type SettingsLayer } from "./options/resolve.js";
export type { ParamSpec, ParamValue } from "./options/schema.js";
export {
  FigureRenderError,
  type RenderOptions,
  renderFigure,
  renderSvg,
  svgToPng,
  type VegaLiteSpec,
} from "./plot/index.js";
export { writeReport } from "./report/write-report.js";
export { FolderLock, FolderLockedError, type LockInfo, type LockOptions } from "./run/lock.js";
export {
  executeRun,
  type PreparedRun,
  prepareNewRun,
  prepareResume,
  RUN_FILES,
  type RunConfig,
  type RunSummary,
} from "./run/train-run.js";
export { runSweep, SWEEP_FILES } from "./sweep/run-sweep.js";
export { type ExpandedSweep, expandSweep, readSweepFile, type SweepFile } from "./sweep/spec.js";
export { FakeTrainer } from "./trainers/fake.js";
export type { MetricsRow, Trainer, TrainerFactory, TrainerRows } from "./trainers/types.js";
