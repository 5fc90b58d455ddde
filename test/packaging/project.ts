import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { cleanEnv, runOk } from "./shell.js";
import {
  exampleFiles,
  firstCodeExample,
  slug,
  tarballName,
  type WorkspacePackage,
  workspacePackages,
} from "./workspace.js";

/**
 * Optional peer dependencies the test does not install: their install scripts download native
 * binaries (libtensorflow), which only an explicit opt-in should do (see "GPU and native
 * TensorFlow" in the root README). Every other optional peer of a package is installed.
 */
export const NATIVE_OPTIONAL_PEERS = new Set(["@tensorflow/tfjs-node", "@tensorflow/tfjs-node-gpu"]);

/** Versions of the tools a user would add to type-check: the workspace's own. */
function workspaceVersion(name: string): string {
  const root = JSON.parse(readFileSync(join(import.meta.dirname, "../../package.json"), "utf8")) as {
    devDependencies: Record<string, string>;
  };
  const v = root.devDependencies[name];
  if (v === undefined) throw new Error(`${name} is not a root devDependency`);
  return v;
}

export interface Workbench {
  readonly root: string;
  readonly tarballs: string;
  readonly packages: readonly WorkspacePackage[];
  /** The user's project: every tarball installed with npm. */
  readonly project: string;
  /** A project with two versions of @sgprop/gym (see prepareTwoGyms). */
  readonly twoGyms: string;
  /** Programs of the project: README examples and example files, `src/<id>.ts` -> `build/<id>.js`. */
  readonly programs: readonly { id: string; pkg: string; source: string }[];
}

/** `pnpm pack` of every package into `tarballs/` (its prepack builds the package and its dependencies). */
export async function packAll(packages: readonly WorkspacePackage[], tarballs: string): Promise<void> {
  mkdirSync(tarballs, { recursive: true });
  for (const p of packages) {
    await runOk("pnpm", ["pack", "--pack-destination", tarballs], { cwd: p.dir, timeoutMs: 180_000 });
  }
}

function optionalPeers(p: WorkspacePackage): Record<string, string> {
  const manifest = JSON.parse(readFileSync(join(p.dir, "package.json"), "utf8")) as {
    peerDependencies?: Record<string, string>;
    peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  };
  const out: Record<string, string> = {};
  for (const [name, meta] of Object.entries(manifest.peerDependenciesMeta ?? {})) {
    const range = manifest.peerDependencies?.[name];
    if (meta.optional === true && range !== undefined && !NATIVE_OPTIONAL_PEERS.has(name)) out[name] = range;
  }
  return out;
}

/**
 * The user's project: `npm init -y`-like ESM package.json depending on every tarball, TypeScript and
 * @types/node; each package README's first TypeScript example and each `examples/*` file of the
 * package as a program in src/; a tsconfig as strict as a careful user's (strict, NodeNext,
 * skipLibCheck off).
 */
export function writeProject(
  project: string,
  tarballs: string,
  packages: readonly WorkspacePackage[],
): Workbench["programs"] {
  mkdirSync(join(project, "src"), { recursive: true });
  const dependencies: Record<string, string> = {};
  for (const p of packages) dependencies[p.name] = `file:${join(tarballs, tarballName(p.name, p.version))}`;
  for (const p of packages) Object.assign(dependencies, optionalPeers(p));
  writeFileSync(
    join(project, "package.json"),
    `${JSON.stringify(
      {
        name: "sgprop-user-project",
        version: "1.0.0",
        private: true,
        type: "module",
        dependencies,
        devDependencies: {
          typescript: workspaceVersion("typescript"),
          "@types/node": workspaceVersion("@types/node"),
        },
      },
      null,
      2,
    )}\n`,
  );
  writeFileSync(
    join(project, "tsconfig.json"),
    `${JSON.stringify(
      {
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          skipLibCheck: false,
          rootDir: "src",
          outDir: "build",
        },
        include: ["src"],
      },
      null,
      2,
    )}\n`,
  );
  const programs: { id: string; pkg: string; source: string }[] = [];
  for (const p of packages) {
    const example = firstCodeExample(readFileSync(join(p.dir, "README.md"), "utf8"));
    if (example !== undefined) {
      const id = `readme-${slug(p.name)}`;
      const ext = example.lang.startsWith("j") || example.lang === "mjs" ? "mjs" : "ts";
      writeFileSync(join(project, "src", `${id}.${ext}`), example.code);
      programs.push({ id, pkg: p.name, source: `${p.name} README.md, first example` });
    }
    // A package's examples keep one folder, so that they can import each other by relative path.
    mkdirSync(join(project, "src", `examples-${slug(p.name)}`), { recursive: true });
    for (const file of exampleFiles(p)) {
      const name = basename(file).replace(/\.(ts|mts|js|mjs)$/, "");
      const id = `examples-${slug(p.name)}/${name}`;
      const ext = /\.m?js$/.test(file) ? "mjs" : "ts";
      cpSync(file, join(project, "src", `${id}.${ext}`));
      programs.push({ id, pkg: p.name, source: `${p.name} examples/${basename(file)}` });
    }
  }
  return programs;
}

/**
 * Two versions of @sgprop/gym side by side: the packed one (0.1.0, under @sgprop/popgym, which
 * depends on ^0.1.0) and the same code with its version bumped to the next minor (top level, the
 * user's own dependency). npm's `overrides` points popgym's copy at the packed tarball, so nothing
 * is fetched from the registry under our scope.
 */
export async function prepareTwoGyms(dir: string, tarballs: string, packages: readonly WorkspacePackage[]) {
  const gym = packages.find((p) => p.name === "@sgprop/gym");
  if (gym === undefined) throw new Error("no @sgprop/gym in the workspace");
  const unpacked = join(dir, "gym-bumped");
  mkdirSync(unpacked, { recursive: true });
  await runOk("tar", ["xzf", join(tarballs, tarballName(gym.name, gym.version)), "-C", unpacked], {
    cwd: dir,
  });
  const manifestPath = join(unpacked, "package", "package.json");
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { version: string };
  const [major, minor] = manifest.version.split(".").map(Number) as [number, number];
  const bumped = `${major}.${minor + 1}.0`;
  manifest.version = bumped;
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  await runOk("npm", ["pack", "--pack-destination", tarballs, "--loglevel=error"], {
    cwd: join(unpacked, "package"),
  });
  const project = join(dir, "two-gyms");
  mkdirSync(project, { recursive: true });
  const file = (name: string) => {
    const p = packages.find((q) => q.name === name);
    if (p === undefined) throw new Error(`no ${name} in the workspace`);
    return `file:${join(tarballs, tarballName(p.name, p.version))}`;
  };
  // popgym's own dependencies from the workspace, so that npm needs only the registry for third parties.
  const popgymDeps = (
    JSON.parse(
      readFileSync(join(tarballsManifestDir(packages, "@sgprop/popgym"), "package.json"), "utf8"),
    ) as {
      dependencies?: Record<string, string>;
    }
  ).dependencies;
  const dependencies: Record<string, string> = {
    "@sgprop/gym": `file:${join(tarballs, tarballName(gym.name, bumped))}`,
    "@sgprop/popgym": file("@sgprop/popgym"),
  };
  for (const name of Object.keys(popgymDeps ?? {})) {
    if (name.startsWith("@sgprop/") && name !== "@sgprop/gym") dependencies[name] = file(name);
  }
  writeFileSync(
    join(project, "package.json"),
    `${JSON.stringify(
      {
        name: "two-gyms",
        version: "1.0.0",
        private: true,
        type: "module",
        dependencies,
        overrides: { "@sgprop/popgym": { "@sgprop/gym": file("@sgprop/gym") } },
      },
      null,
      2,
    )}\n`,
  );
  return { project, bumped, packed: gym.version };
}

function tarballsManifestDir(packages: readonly WorkspacePackage[], name: string): string {
  const p = packages.find((q) => q.name === name);
  if (p === undefined) throw new Error(`no ${name} in the workspace`);
  return p.dir;
}

/** `npm install` as a user runs it (plain npm, the npm registry for third-party packages). */
export function npmInstall(project: string) {
  return runOk("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: project,
    env: cleanEnv(),
    timeoutMs: 240_000,
  });
}

export { workspacePackages };
