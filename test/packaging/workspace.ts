import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The repository root. */
export const repoRoot = join(import.meta.dirname, "../..");

/** A publishable workspace package (one that is not `private`). */
export interface WorkspacePackage {
  readonly name: string;
  readonly version: string;
  readonly dir: string;
  readonly manifest: PackageManifest;
}

export interface PackageManifest {
  readonly name: string;
  readonly version: string;
  readonly private?: boolean;
  readonly exports?: Record<string, unknown>;
  readonly bin?: Record<string, string> | string;
  readonly engines?: Record<string, string>;
  readonly license?: string;
}

/**
 * Every publishable package of the workspace: the folders matched by the `packages:` globs of
 * pnpm-workspace.yaml (`dir/*` or a plain folder) whose package.json is not private. New packages
 * are found without editing the test.
 */
export function workspacePackages(root = repoRoot): WorkspacePackage[] {
  const yaml = readFileSync(join(root, "pnpm-workspace.yaml"), "utf8");
  const globs: string[] = [];
  let inPackages = false;
  for (const line of yaml.split("\n")) {
    if (/^packages:\s*$/.test(line)) inPackages = true;
    else if (inPackages && /^\s+-\s+/.test(line))
      globs.push(
        line
          .replace(/^\s+-\s+/, "")
          .replace(/["']/g, "")
          .trim(),
      );
    else if (inPackages && /^\S/.test(line)) inPackages = false;
  }
  const dirs = globs.flatMap((glob) => {
    if (!glob.endsWith("/*")) return [join(root, glob)];
    const parent = join(root, glob.slice(0, -2));
    return existsSync(parent)
      ? readdirSync(parent, { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => join(parent, d.name))
      : [];
  });
  return dirs
    .filter((dir) => existsSync(join(dir, "package.json")))
    .map((dir) => {
      const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as PackageManifest;
      return { name: manifest.name, version: manifest.version, dir, manifest };
    })
    .filter((p) => p.manifest.private !== true)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The tarball name `pnpm pack` gives a package: `@scope/name` 1.2.3 -> `scope-name-1.2.3.tgz`. */
export function tarballName(name: string, version: string): string {
  return `${name.replace(/^@/, "").replace("/", "-")}-${version}.tgz`;
}

/** A file-system-safe id for a package name (`@sgprop/gym` -> `sgprop-gym`). */
export function slug(name: string): string {
  return name.replace(/^@/, "").replace(/\//g, "-");
}

const FENCE = /^```([\w-]*)[^\n]*\n([\s\S]*?)^```\s*$/gm;

/**
 * The first TypeScript or JavaScript example of a README: the first fenced block whose language is
 * ts, typescript, js, javascript or mjs. Undefined when the README has none.
 */
export function firstCodeExample(readme: string): { lang: string; code: string } | undefined {
  for (const m of readme.matchAll(FENCE)) {
    const lang = (m[1] ?? "").toLowerCase();
    if (["ts", "typescript", "js", "javascript", "mjs"].includes(lang)) return { lang, code: m[2] ?? "" };
  }
  return undefined;
}

/** The package's example programs: every `examples/*.ts` (or .mts, .js, .mjs) file in its folder. */
export function exampleFiles(pkg: WorkspacePackage): string[] {
  const dir = join(pkg.dir, "examples");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.(ts|mts|js|mjs)$/.test(f) && !/\.d\.ts$/.test(f) && !/\.test\./.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** The module specifiers of a package's exports: `name` for ".", `name/sub` for "./sub"; no JSON or patterns. */
export function exportSpecifiers(manifest: PackageManifest): string[] {
  const keys = manifest.exports === undefined ? ["."] : Object.keys(manifest.exports);
  return keys
    .filter((k) => k.startsWith(".") && !k.includes("*") && !k.endsWith(".json"))
    .map((k) => (k === "." ? manifest.name : `${manifest.name}/${k.slice(2)}`));
}
