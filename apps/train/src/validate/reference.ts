import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "csv-parse/sync";
import { ResultsFolderError } from "../errors.js";
import type { TrainKind } from "../options/presets.js";

/**
 * Whole training runs of the paper's own code (jackyzyb/sgprop, unmodified, the paper's settings,
 * on a 2-core CPU machine like ours), shipped in `reference-curves/`: the bandit's 20 evaluations
 * per run and POPGym's per-batch metrics. See that folder's README for how they were made.
 */
export interface ReferenceRun {
  readonly kind: TrainKind;
  /** The method's name in the reference's files, which the validate sweeps reuse as method labels. */
  readonly method: string;
  readonly seed: number;
  /** The x axis: evaluation steps (bandit) or batch numbers (POPGym). */
  readonly units: readonly number[];
  /** Eval reward (bandit) or the batch's success rate (POPGym), one per unit. */
  readonly values: readonly number[];
}

/** `reference-curves/` beside `src/` (sources) or `dist/` (the published package). */
export function defaultReferenceDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "reference-curves");
}

const FILE_NAME = /^(bandit|popgym-escape)-(\w+)-seed(\d+)\.csv$/;

/** Columns read from each kind of reference file: the x axis and the compared metric. */
const COLUMNS: Readonly<Record<TrainKind, { unit: string; value: string }>> = {
  bandit: { unit: "step", value: "eval_reward" },
  popgym: { unit: "update", value: "success_rate" },
  dni: { unit: "step", value: "loss" },
};

function readColumns(path: string, kind: TrainKind): { units: number[]; values: number[] } {
  const records = parse(readFileSync(path, "utf8"), { columns: true, skip_empty_lines: true }) as Record<
    string,
    string
  >[];
  const { unit, value } = COLUMNS[kind];
  const units = records.map((r) => Number(r[unit]));
  const values = records.map((r) => Number(r[value]));
  if (records.length === 0 || [...units, ...values].some((x) => !Number.isFinite(x))) {
    throw new ResultsFolderError(`${path}: expected numeric "${unit}" and "${value}" columns in every row`);
  }
  return { units, values };
}

/** Every reference run of `kind` found in `dir`, sorted by method then seed. */
export function loadReferenceRuns(kind: TrainKind, dir = defaultReferenceDir()): ReferenceRun[] {
  if (!existsSync(dir)) throw new ResultsFolderError(`reference curves folder ${dir} does not exist`);
  const runs: ReferenceRun[] = [];
  for (const name of readdirSync(dir).sort()) {
    const m = FILE_NAME.exec(name);
    if (m === null || (m[1] === "bandit") !== (kind === "bandit")) continue;
    runs.push({ kind, method: m[2] as string, seed: Number(m[3]), ...readColumns(join(dir, name), kind) });
  }
  if (runs.length === 0) throw new ResultsFolderError(`no ${kind} reference curves in ${dir}`);
  return runs.sort((a, b) => a.method.localeCompare(b.method) || a.seed - b.seed);
}
