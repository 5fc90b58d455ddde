import { type GoldenFile, MalformedGoldenError } from "@sgprop/conformance";
import type { LabyrinthKind } from "./cells.js";

/** One whole episode of a labyrinth golden file (LABYRINTH.md "Golden files"). */
export interface GoldenEpisode {
  readonly seed: number;
  readonly mazeDims: [number, number];
  readonly episodeLength: number;
  readonly policy: string;
  readonly grid: number[][];
  readonly start: [number, number];
  readonly end: [number, number];
  readonly resetPosition: [number, number];
  readonly negRewardScale: number;
  readonly posRewardScale?: number;
  readonly resetObs: number[];
  readonly steps: readonly GoldenStep[];
}

export interface GoldenStep {
  readonly action: number;
  readonly obs: number[];
  readonly reward: number;
  readonly terminated: boolean;
  readonly truncated: boolean;
  readonly position: [number, number];
}

export const LABYRINTH_CASES: Readonly<Record<string, LabyrinthKind>> = {
  "labyrinth-escape": "escape",
  "labyrinth-explore": "explore",
};

function fail(where: string, what: string): never {
  throw new MalformedGoldenError(`${where}: ${what}`);
}

function num(where: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v))
    fail(where, `expected a number, got ${JSON.stringify(v)}`);
  return v;
}

function bool(where: string, v: unknown): boolean {
  if (typeof v !== "boolean") fail(where, `expected true/false, got ${JSON.stringify(v)}`);
  return v;
}

function numbers(where: string, v: unknown, length?: number): number[] {
  if (!Array.isArray(v)) fail(where, `expected an array, got ${JSON.stringify(v)}`);
  if (length !== undefined && v.length !== length) fail(where, `expected ${length} values, got ${v.length}`);
  return v.map((x, i) => num(`${where}[${i}]`, x));
}

function pair(where: string, v: unknown): [number, number] {
  const a = numbers(where, v, 2);
  return [a[0] as number, a[1] as number];
}

/** Reads and shape-checks the `episodes` of a labyrinth golden file. */
export function readGoldenEpisodes(file: GoldenFile): GoldenEpisode[] {
  const eps = file.episodes;
  if (!Array.isArray(eps) || eps.length === 0) fail(file.case, `"episodes" must be a non-empty array`);
  return eps.map((raw: unknown, e): GoldenEpisode => {
    const w = `${file.case} episode ${e}`;
    if (typeof raw !== "object" || raw === null) fail(w, "not an object");
    const r = raw as Record<string, unknown>;
    if (!Array.isArray(r.grid)) fail(`${w}.grid`, "expected an array of rows");
    const grid = (r.grid as unknown[]).map((row, i) => numbers(`${w}.grid[${i}]`, row));
    if (!Array.isArray(r.steps)) fail(`${w}.steps`, "expected an array");
    const steps = (r.steps as unknown[]).map((s, t): GoldenStep => {
      const ws = `${w} step ${t}`;
      if (typeof s !== "object" || s === null) fail(ws, "not an object");
      const st = s as Record<string, unknown>;
      return {
        action: num(`${ws}.action`, st.action),
        obs: numbers(`${ws}.obs`, st.obs),
        reward: num(`${ws}.reward`, st.reward),
        terminated: bool(`${ws}.terminated`, st.terminated),
        truncated: bool(`${ws}.truncated`, st.truncated),
        position: pair(`${ws}.position`, st.position),
      };
    });
    return {
      seed: num(`${w}.seed`, r.seed),
      mazeDims: pair(`${w}.mazeDims`, r.mazeDims),
      episodeLength: num(`${w}.episodeLength`, r.episodeLength),
      policy: typeof r.policy === "string" ? r.policy : "?",
      grid,
      start: pair(`${w}.start`, r.start),
      end: pair(`${w}.end`, r.end),
      resetPosition: pair(`${w}.resetPosition`, r.resetPosition),
      negRewardScale: num(`${w}.negRewardScale`, r.negRewardScale),
      ...(r.posRewardScale !== undefined
        ? { posRewardScale: num(`${w}.posRewardScale`, r.posRewardScale) }
        : {}),
      resetObs: numbers(`${w}.resetObs`, r.resetObs),
      steps,
    };
  });
}
