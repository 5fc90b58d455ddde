/**
 * The light entry point `@sgprop/bp-lambda/options`: options, their paper defaults and the method
 * names, without the models (so a CLI can document and check settings without loading them).
 */
export { METHODS, type MethodName } from "./methods.js";
export * from "./options.js";
