export * from "./compare.js";
export * from "./format.js";
export * from "./runner.js";
