export { type CaseAgreement, summarizeAgreement } from "./agreement.js";
export { ExpertSimConfigError } from "./errors.js";
export {
  assertTableFallback,
  backpropGradient,
  fitSyntheticTables,
  predictSyntheticFeedback,
  syntheticGradient,
  TABLE_FALLBACKS,
  type TableFallback,
} from "./estimators.js";
export {
  assertFeedbackCase,
  FEEDBACK_CASE_LABELS,
  FEEDBACK_CASES,
  type FeedbackCase,
  type NoiseLevels,
  sampleMeanFeedback,
  validateNoise,
} from "./feedback.js";
export { feedbackGram, populationGradient, populationLoss, squaredGradientError } from "./gradient.js";
export {
  cleanFeedback,
  createProblem,
  type ExpertProblem,
  hypercubeVertices,
  MAX_DIMENSION,
  type ProblemShape,
  tableKeys,
  validateShape,
} from "./problem.js";
export { deriveSeed } from "./seeds.js";
export {
  type ExpertSimOptions,
  type ExpertSimResult,
  type ExpertSimRow,
  PAPER_DEFAULTS,
  type PreparedProblem,
  prepareProblem,
  ROW_FIELDS,
  resolveOptions,
  runCell,
  runExpertSim,
  runTrials,
  sweepPairs,
  sweepProblem,
  type TrialErrors,
} from "./simulation.js";
export {
  bootstrapRatio,
  meanAndStandardError,
  quantileSorted,
  type RatioSummary,
  ratioOfMeans,
} from "./statistics.js";
