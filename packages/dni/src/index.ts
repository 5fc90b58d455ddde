export * from "./errors.js";
export * from "./learner.js";
export * from "./losses.js";
export * from "./net.js";
export * from "./optim.js";
export * from "./sg.js";
export * from "./streams.js";
