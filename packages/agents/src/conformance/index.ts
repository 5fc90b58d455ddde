import type { CaseChecker } from "@sgprop/conformance";
import { feedforwardCheckers } from "./feedforward.js";
import { recurrentCheckers } from "./recurrent.js";

/** Every model case the agents package can check against golden files. */
export const agentCheckers: readonly CaseChecker[] = [...feedforwardCheckers, ...recurrentCheckers];
