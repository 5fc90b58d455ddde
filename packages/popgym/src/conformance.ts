import type { CaseChecker } from "@sgprop/conformance";

/** Conformance checkers for the labyrinth golden trajectories (cases labyrinth-escape, labyrinth-explore). */
export const labyrinthCheckers: readonly CaseChecker[] = [];
