export * from "./loss.js";
export * from "./options.js";
export * from "./returns.js";
export * from "./rollout.js";
export * from "./trainer.js";
