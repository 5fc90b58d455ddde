import { readBookkeeping } from "../run/prepare.js";
import type { ExpandedSweep } from "./spec.js";

/** Reads a sweep folder's sweep.json (the expanded, validated sweep), naming a damaged file. */
export function readSweepSpec(path: string): ExpandedSweep {
  return readBookkeeping<ExpandedSweep>(
    path,
    (v) => {
      const r = v as Partial<ExpandedSweep> | null;
      return typeof r === "object" && r !== null && typeof r.name === "string" && Array.isArray(r.runs);
    },
    "an expanded sweep ({name, kind, runs, ...})",
  );
}
