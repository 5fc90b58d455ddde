export { disposeKernelThreads, kernelHelperCalls, prewarmKernelThreads } from "@sgprop/kernels";
export * from "./backend.js";
export * from "./bandit/loss.js";
export * from "./bandit/options.js";
export * from "./bandit/trainer.js";
export * from "./bandit/types.js";
export * from "./checkpoint.js";
export * from "./conformance/index.js";
export * from "./diagnose/bandit.js";
export * from "./diagnose/estimatorErrors.js";
export * from "./diagnose/feedforward.js";
export * from "./diagnose/poolMoments.js";
export * from "./diagnose/recurrent.js";
export * from "./diagnose/recurrentCheckpoint.js";
export * from "./diagnose/report.js";
export * from "./diagnose/types.js";
export * from "./feedforward/errors.js";
export * from "./feedforward/mlp.js";
export * from "./feedforward/sgprop.js";
export * from "./feedforward/sgpropShared.js";
export * from "./feedforward/sparsenet.js";
export {
  checkFeedforwardConfig,
  drawFeedforwardConnectivity,
  type FeedforwardConnectivity,
  type FeedforwardSparseNetConfig,
  feedforwardPolicyNames,
  feedforwardSgNames,
  feedforwardShapes,
  initFeedforwardParams,
} from "./feedforward/sparsenetConfig.js";
export {
  type FeedforwardForward,
  type FeedforwardLayerCache,
  liveTrace,
  type NativeTraceRef,
} from "./feedforward/sparsenetTrace.js";
export * from "./gradients.js";
export * from "./neuron/slotNeuron.js";
export * from "./ops/gather.js";
export * from "./ops/perNeuron.js";
export * from "./optim/adam.js";
export * from "./optim/clip.js";
export * from "./recurrent/index.js";
export * from "./sg/bpLambda.js";
export * from "./sgprop/mixing.js";
export * from "./sgprop/thetaEstimator.js";
export * from "./sgprop/thetaSchedule.js";
export * from "./streams.js";
export * from "./trainer.js";
