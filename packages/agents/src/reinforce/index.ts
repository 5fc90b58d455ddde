export * from "./loss.js";
export * from "./returns.js";
