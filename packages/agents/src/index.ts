export * from "./conformance/index.js";
export * from "./recurrent/index.js";
