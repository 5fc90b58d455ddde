import type { CaseChecker } from "@sgprop/conformance";

/** Checkers for the POPGym policies (cases sparsenet-recurrent, gru-policy, lstm-policy). */
export const recurrentCheckers: readonly CaseChecker[] = [];
