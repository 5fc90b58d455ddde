import { existsSync, statSync } from "node:fs";
import { relative } from "node:path";
import { agentCheckers, type BackendName, selectBackend } from "@sgprop/agents";
import { type CaseChecker, goldenFiles, type RunSummary, runConformance } from "@sgprop/conformance";
import { labyrinthCheckers } from "@sgprop/popgym";
import { UsageError } from "../errors.js";

/** Every registered case; each package owns the checkers of its own cases. */
export const allCheckers: readonly CaseChecker[] = [...labyrinthCheckers, ...agentCheckers];

/**
 * The golden files shipped in @sgprop/conformance (`golden/*.json`, copied from the repository's
 * `test/golden/` when that package is built), relative to the working directory.
 */
export function bundledGoldenFiles(): string[] {
  return goldenFiles().map((f) => relative(process.cwd(), f));
}

/**
 * `sgprop conformance [file...]`: exit 0 only when every file passes. The application chooses the
 * TensorFlow.js backend once, before any checker runs (default: the agents' automatic choice).
 */
export async function conformanceCommand(
  files: readonly string[],
  print?: (line: string) => void,
  backend?: BackendName,
): Promise<{ exitCode: number; summary: RunSummary }> {
  for (const f of files) {
    if (!existsSync(f) || !statSync(f).isFile())
      throw new UsageError(`golden file ${f} does not exist or is not a file`);
  }
  const paths = files.length > 0 ? files : bundledGoldenFiles();
  if (paths.length === 0) {
    print?.(
      "no golden files given, and none found in @sgprop/conformance's golden/ folder (build it with `pnpm build`, or pass files)",
    );
    return { exitCode: 1, summary: { passed: 0, failed: 0, results: [] } };
  }
  await selectBackend(backend);
  const summary = await runConformance(paths, allCheckers, print);
  return { exitCode: summary.failed === 0 && summary.passed > 0 ? 0 : 1, summary };
}
