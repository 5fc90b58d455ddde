import "@tensorflow/tfjs-core/dist/register_all_gradients";

export * from "./backend.js";
export * from "./checkpoint.js";
export * from "./conformance/index.js";
export * from "./neuron/slotNeuron.js";
export * from "./ops/gather.js";
export * from "./optim/adam.js";
export * from "./optim/clip.js";
export * from "./recurrent/index.js";
export * from "./sgprop/mixing.js";
export * from "./sgprop/thetaEstimator.js";
export * from "./trainer.js";
