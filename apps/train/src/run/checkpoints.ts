import { createHash } from "node:crypto";
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ResultsFolderError } from "../errors.js";
import { readMetricsCsv } from "./files.js";
import { RUN_FILES } from "./layout.js";

/** One checkpoint of a run, as `checkpoints/index.json` records it. */
export interface CheckpointEntry {
  readonly completed: number;
  readonly dir: string;
  /** Rows of metrics.csv and eval.csv written when the checkpoint was taken. */
  readonly trainRows: number;
  readonly evalRows: number;
  /** sha256 of every file of the checkpoint folder, by name (absent in indexes of older runs). */
  readonly sha256?: Readonly<Record<string, string>>;
}

export function checkpointName(completed: number): string {
  return `unit-${String(completed).padStart(6, "0")}`;
}

const CHECKPOINT_DIR = /^unit-(\d{6,})$/;

function fsyncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/**
 * fsyncs every file of a checkpoint folder, the folder and its parent (so the rename that made
 * it is durable), then returns the files' sha256: the index must never point at data that a power
 * cut could still lose, and a flipped bit must be detectable on resume.
 */
export function sealCheckpoint(dir: string): Record<string, string> {
  const sums: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (!statSync(path).isFile()) continue;
    fsyncPath(path);
    sums[name] = sha256File(path);
  }
  fsyncPath(dir);
  fsyncPath(join(dir, ".."));
  return sums;
}

/** Why a checkpoint folder does not match its recorded checksums, or undefined when it does. */
export function checkpointDamage(runDir: string, entry: CheckpointEntry): string | undefined {
  const dir = join(runDir, RUN_FILES.checkpoints, entry.dir);
  if (!existsSync(dir)) return `${dir} is missing`;
  for (const [name, expected] of Object.entries(entry.sha256 ?? {})) {
    const path = join(dir, name);
    if (!existsSync(path)) return `${path} is missing`;
    const actual = sha256File(path);
    if (actual !== expected)
      return `${path} is damaged (sha256 ${actual.slice(0, 12)}..., index says ${expected.slice(0, 12)}...)`;
  }
  return undefined;
}

function isEntry(e: unknown): e is CheckpointEntry {
  if (typeof e !== "object" || e === null) return false;
  const r = e as Record<string, unknown>;
  const count = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  return (
    count(r.completed) &&
    count(r.trainRows) &&
    count(r.evalRows) &&
    typeof r.dir === "string" &&
    CHECKPOINT_DIR.test(r.dir) &&
    (r.sha256 === undefined || (typeof r.sha256 === "object" && r.sha256 !== null))
  );
}

/** The checkpoint folders present on disk, oldest first. */
export function checkpointFolders(runDir: string): { name: string; completed: number }[] {
  const root = join(runDir, RUN_FILES.checkpoints);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((name) => ({ name, m: CHECKPOINT_DIR.exec(name) }))
    .filter((x) => x.m !== null && statSync(join(root, x.name)).isDirectory())
    .map((x) => ({ name: x.name, completed: Number((x.m as RegExpExecArray)[1]) }))
    .sort((a, b) => a.completed - b.completed);
}

/** Parses index.json strictly; a damaged file is named, never a bare SyntaxError. */
export function readCheckpointIndex(runDir: string): CheckpointEntry[] | undefined {
  const path = join(runDir, RUN_FILES.checkpointIndex);
  if (!existsSync(path)) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ResultsFolderError(
      `${path} is damaged (${(error as Error).message}); delete it to rebuild it from the unit-* checkpoint folders`,
    );
  }
  if (!Array.isArray(data) || !data.every(isEntry)) {
    throw new ResultsFolderError(
      `${path} is not a checkpoint index (expected a list of {completed, dir, trainRows, evalRows}); delete it to rebuild it from the unit-* checkpoint folders`,
    );
  }
  const sorted = [...data].sort((a, b) => a.completed - b.completed);
  return sorted;
}

/**
 * The index of a run about to be resumed. A missing or empty index while checkpoint folders exist
 * is rebuilt from them (one metrics row per unit; eval rows counted in eval.csv), with a warning:
 * silently restarting from unit 0 would throw those checkpoints away.
 */
export function loadIndexForResume(
  runDir: string,
  unitColumn: string,
  warn: (message: string) => void,
): CheckpointEntry[] {
  const index = readCheckpointIndex(runDir);
  if (index !== undefined && index.length > 0) return index;
  const folders = checkpointFolders(runDir);
  if (folders.length === 0) return [];
  const evalCsv = readMetricsCsv(join(runDir, RUN_FILES.eval));
  const col = evalCsv.columns.indexOf(unitColumn);
  const rebuilt = folders.map((f) => ({
    completed: f.completed,
    dir: f.name,
    trainRows: f.completed,
    evalRows:
      col < 0 ? 0 : evalCsv.rows.filter((r) => (r[col] ?? Number.POSITIVE_INFINITY) <= f.completed).length,
  }));
  warn(
    `${join(runDir, RUN_FILES.checkpointIndex)} was ${index === undefined ? "missing" : "empty"}; rebuilt it from ${folders.length} checkpoint folder(s) (${folders.map((f) => f.name).join(", ")}), whose checksums cannot be verified`,
  );
  return rebuilt;
}
