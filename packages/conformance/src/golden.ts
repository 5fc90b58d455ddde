import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The folder of the reference files that ship with this package (`golden/`, about 1.6 MB, copied
 * from the repository's `test/golden/` when the package is built), or, in a checkout of the
 * repository that was never built, `test/golden/` itself. Undefined when neither exists.
 */
export function goldenDirectory(): string | undefined {
  // src/golden.ts and dist/golden.js both sit one folder below the package root.
  const candidates = [
    fileURLToPath(new URL("../golden", import.meta.url)),
    fileURLToPath(new URL("../../../test/golden", import.meta.url)),
  ];
  return candidates.find((dir) => existsSync(join(dir, "README.md")));
}

/** The shipped golden files (`*.json` of {@link goldenDirectory}), sorted; empty when there are none. */
export function goldenFiles(): string[] {
  const dir = goldenDirectory();
  if (dir === undefined) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => join(dir, f));
}
