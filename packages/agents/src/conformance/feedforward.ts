import type { CaseChecker } from "@sgprop/conformance";

/** Checkers for the bandit models (cases sparsenet-feedforward, mlp). */
export const feedforwardCheckers: readonly CaseChecker[] = [];
