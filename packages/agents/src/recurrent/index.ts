export * from "../reinforce/index.js";
export * from "./actor.js";
export * from "./batch.js";
export * from "./coreBackward.js";
export * from "./corePool.js";
export * from "./coreSums.js";
export * from "./embedding.js";
export * from "./learner.js";
export * from "./matmul.js";
export * from "./params.js";
export * from "./rnn.js";
export {
  initRnn,
  PAPER_RNN_SIZES,
  RNN_PARAMS,
  type RnnCell,
  type RnnConfig,
  type RnnState,
  validateRnnConfig,
} from "./rnnConfig.js";
export * from "./rolloutCore.js";
export * from "./sgTargets.js";
export * from "./sparseCore.js";
export * from "./sparseMaps.js";
export * from "./sparsenet.js";
export * from "./sparsenetBptt.js";
export * from "./sparsenetConfig.js";
export * from "./sparsenetTheta.js";
