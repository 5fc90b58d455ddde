import { readFile } from "node:fs/promises";
import type { CheckOutcome } from "./compare.js";
import { type GoldenFile, MalformedGoldenError, parseGoldenFile } from "./format.js";

/** Checks one `case` of golden file; registered by the package that owns the case. */
export interface CaseChecker {
  readonly case: string;
  check(file: GoldenFile): CheckOutcome | Promise<CheckOutcome>;
}

export interface FileResult {
  readonly path: string;
  readonly case: string | undefined;
  readonly outcome?: CheckOutcome;
  /** Set when the file could not be checked at all (unreadable, malformed, unknown case, crash). */
  readonly error?: string;
  readonly pass: boolean;
}

export interface RunSummary {
  readonly results: readonly FileResult[];
  readonly passed: number;
  readonly failed: number;
}

/** Builds the case -> checker table, refusing two checkers for one case. */
export function checkerTable(checkers: readonly CaseChecker[]): Map<string, CaseChecker> {
  const table = new Map<string, CaseChecker>();
  for (const c of checkers) {
    if (table.has(c.case)) throw new Error(`two conformance checkers registered for case "${c.case}"`);
    table.set(c.case, c);
  }
  return table;
}

/** Checks one file; never throws. */
export async function checkFile(path: string, table: ReadonlyMap<string, CaseChecker>): Promise<FileResult> {
  let file: GoldenFile;
  try {
    file = parseGoldenFile(await readFile(path, "utf8"), path);
  } catch (e) {
    const msg =
      e instanceof MalformedGoldenError ? e.message : `${path}: cannot read (${(e as Error).message})`;
    return { path, case: undefined, error: `malformed file: ${msg}`, pass: false };
  }
  const checker = table.get(file.case);
  if (checker === undefined) {
    const known = [...table.keys()].sort().join(", ");
    return {
      path,
      case: file.case,
      error: `unknown case "${file.case}" (known cases: ${known})`,
      pass: false,
    };
  }
  try {
    const outcome = await checker.check(file);
    return { path, case: file.case, outcome, pass: outcome.pass };
  } catch (e) {
    const prefix = e instanceof MalformedGoldenError ? "malformed file" : "checker error";
    return { path, case: file.case, error: `${prefix}: ${(e as Error).message}`, pass: false };
  }
}

/** One human-readable line per file. */
export function formatResult(r: FileResult): string {
  const status = r.pass ? "PASS" : "FAIL";
  const head = `${status}  ${r.case ?? "?"}  ${r.path}`;
  if (r.error !== undefined) return `${head}  ${r.error}`;
  const o = r.outcome as CheckOutcome;
  const errs = `max abs err ${o.worstAbs.toExponential(2)}  max rel err ${o.worstRel.toExponential(2)}  (${o.compared} values)`;
  return o.firstMismatch !== undefined
    ? `${head}  ${errs}  first mismatch: ${o.firstMismatch}`
    : `${head}  ${errs}`;
}

/** Checks every file in order, printing a line per file and the closing `N passed, M failed`. */
export async function runConformance(
  paths: readonly string[],
  checkers: readonly CaseChecker[],
  print: (line: string) => void = (l) => console.log(l),
): Promise<RunSummary> {
  const table = checkerTable(checkers);
  const results: FileResult[] = [];
  for (const path of paths) {
    const r = await checkFile(path, table);
    results.push(r);
    print(formatResult(r));
  }
  const passed = results.filter((r) => r.pass).length;
  const failed = results.length - passed;
  print(`${passed} passed, ${failed} failed`);
  return { results, passed, failed };
}
