import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { ResultsFolderError } from "../errors.js";
import { RUN_CONFIG_FORMAT } from "../options/config-file.js";
import { isLeftover, RUN_FILES, RUN_FOLDER_NAMES } from "./layout.js";
import { assertUnlocked } from "./lock.js";

/** True when `dir` is `other` or one of its parents. */
function contains(dir: string, other: string): boolean {
  const rel = relative(dir, other);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** The first existing folder on the way up from `path` (where a new folder would be created). */
function existingAncestor(path: string): string {
  let p = resolve(path);
  while (!existsSync(p)) {
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  return p;
}

/**
 * Refuses a results folder that cannot be written (a file, a read-only filesystem, no
 * permission) or whose writing could destroy more than a run: the working folder, one of its
 * parents, the home folder or the filesystem root. Reads only.
 */
export function checkWritableFolder(flag: string, given: string): string {
  const dir = resolve(given);
  if (contains(dir, process.cwd()) || dir === homedir() || dir === dirname(dir)) {
    throw new ResultsFolderError(
      `${flag} ${given} is the working folder, one of its parents, the home folder or the root; name a folder of its own, e.g. runs/my-run`,
    );
  }
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new ResultsFolderError(`${flag} ${given} is a file, not a folder`);
  }
  const ancestor = existingAncestor(dir);
  if (!statSync(ancestor).isDirectory()) {
    throw new ResultsFolderError(`${flag} ${given} cannot be created: ${ancestor} is a file`);
  }
  try {
    accessSync(ancestor, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "not writable";
    throw new ResultsFolderError(
      `${flag} ${given} cannot be written: ${ancestor} is not writable (${code === "EROFS" ? "read-only filesystem" : code})`,
    );
  }
  return dir;
}

/**
 * mkdir -p one level at a time: Node's recursive mkdir loops forever under some pseudo
 * filesystems (a path below /proc), and a failure must name the level that could not be made.
 */
export function makeFolder(dir: string): void {
  const missing: string[] = [];
  let p = resolve(dir);
  while (!existsSync(p)) {
    missing.unshift(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  for (const level of missing) {
    try {
      mkdirSync(level);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST")
        throw new ResultsFolderError(
          `cannot create ${level}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        );
    }
  }
}

/** Names in `dir` that the harness did not write (empty for a run folder, or no folder). */
export function foreignEntries(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => !RUN_FOLDER_NAMES.includes(n) && !isLeftover(n));
}

/** True when config.json of `dir` is an sgprop run config. */
export function hasRunConfig(dir: string): boolean {
  try {
    const c = JSON.parse(readFileSync(join(dir, RUN_FILES.config), "utf8")) as { format?: unknown };
    return c.format === RUN_CONFIG_FORMAT;
  } catch {
    return false;
  }
}

/**
 * Checks that a new run may be written to `given`: an empty or missing folder, or with
 * `overwrite` a folder that is provably a run folder (an sgprop config.json, or only an error.json
 * left by a failed start, and nothing else) that no live process is writing.
 */
export function checkNewRunFolder(given: string, overwrite: boolean): string {
  const dir = checkWritableFolder("--out", given);
  if (!existsSync(dir) || readdirSync(dir).length === 0) return dir;
  if (!overwrite) {
    throw new ResultsFolderError(
      `results folder ${given} already exists; pass --overwrite to replace it or --resume ${given} to continue it`,
    );
  }
  const foreign = foreignEntries(dir);
  const names = readdirSync(dir).filter((n) => !isLeftover(n) && n !== RUN_FILES.lock);
  const onlyError = names.length > 0 && names.every((n) => n === RUN_FILES.error);
  if (foreign.length > 0 || (!hasRunConfig(dir) && !onlyError && names.length > 0)) {
    const what =
      foreign.length > 0
        ? `it holds ${foreign.slice(0, 5).join(", ")}${foreign.length > 5 ? ", ..." : ""}`
        : `its ${RUN_FILES.config} is not an sgprop run config`;
    throw new ResultsFolderError(
      `--overwrite replaces only a results folder written by sgprop, and ${given} is not one (${what}); choose another --out or empty it yourself`,
    );
  }
  assertUnlocked(dir);
  return dir;
}

/** Removes what the harness wrote in `dir` (never the folder itself, never anything else). */
export function clearRunFolder(dir: string): void {
  for (const name of readdirSync(dir)) {
    if (name === RUN_FILES.lock || name.startsWith(`${RUN_FILES.lock}.`)) continue;
    if (RUN_FOLDER_NAMES.includes(name) || isLeftover(name))
      rmSync(join(dir, name), { recursive: true, force: true });
  }
}

/** Removes temporary folders and files that a killed checkpoint or JSON write left behind. */
export function removeLeftovers(dir: string): void {
  for (const sub of [dir, join(dir, RUN_FILES.checkpoints)]) {
    if (!existsSync(sub)) continue;
    for (const name of readdirSync(sub)) {
      if (name.startsWith(`${RUN_FILES.lock}`)) continue;
      if (isLeftover(name)) rmSync(join(sub, name), { recursive: true, force: true });
    }
  }
}
