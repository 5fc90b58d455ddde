export * from "./compare.js";
export * from "./format.js";
export * from "./golden.js";
export * from "./runner.js";
