export { main } from "./cli.js";
export { allCheckers, bundledGoldenFiles, conformanceCommand } from "./commands/conformance.js";
