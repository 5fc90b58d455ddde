export {
  type CoreKernelName,
  f64,
  NEURON_SIZES,
  startHalves,
  type TaskArg,
  type TaskArgs,
  taskWriter,
} from "./coreTasks.js";
export * from "./kernels/adam.js";
export * from "./kernels/coreBackward.js";
export * from "./kernels/coreEstimator.js";
export * from "./kernels/coreForward.js";
export * from "./kernels/coreSgLoss.js";
export * from "./kernels/feedforward.js";
export * from "./kernels/perNeuron.js";
export * from "./kernels/rollout.js";
export { addr, allocLayout, type KernelLayout, type LayoutSpec, pad8 } from "./layout.js";
export {
  disposeKernelThreads,
  KERNELS,
  type KernelName,
  type KernelRuntime,
  kernelHelperCalls,
  kernelHelperChunks,
  kernelRuntime,
  type PendingKernel,
  prewarmKernelThreads,
  SLACK,
  type StartOptions,
  transientLayout,
} from "./runtime.js";
export { onOneThread, withKernelHelper } from "./threads.js";
