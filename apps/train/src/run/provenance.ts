import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { cpus, hostname } from "node:os";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

function findPackageJson(name: string, from: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = join(dir, "node_modules", name, "package.json");
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function versionOf(name: string, from: string): string | undefined {
  const path = findPackageJson(name, from);
  if (path === undefined) return undefined;
  return (JSON.parse(readFileSync(path, "utf8")) as { version?: string }).version;
}

/** Versions of node, our packages and TensorFlow.js, for config.json. */
export function collectVersions(): Record<string, string> {
  const out: Record<string, string> = { node: process.version };
  const app = JSON.parse(readFileSync(join(here, "../../package.json"), "utf8")) as { version: string };
  out["@sgprop/train"] = app.version;
  for (const name of [
    "@sgprop/agents",
    "@sgprop/gym",
    "@sgprop/popgym",
    "@sgprop/mnist-bandit",
    "@sgprop/bp-lambda",
  ]) {
    const v = versionOf(name, here);
    if (v !== undefined) out[name] = v;
  }
  const agentsJson = findPackageJson("@sgprop/agents", here);
  if (agentsJson !== undefined) {
    const agentsDir = realpathSync(dirname(agentsJson));
    for (const name of ["@tensorflow/tfjs-core", "@tensorflow/tfjs-backend-wasm", "@tensorflow/tfjs-node"]) {
      const v = versionOf(name, agentsDir);
      if (v !== undefined) out[name] = v;
    }
  }
  return out;
}

/**
 * The git commit of sgprop-ts (and whether it had uncommitted changes), when this code runs from a
 * checkout of the sgprop-ts repository. Installed from npm (the package sits in some project's
 * node_modules), git would report that project's commit, so nothing is recorded then.
 */
export function gitState(): { commit: string; dirty: boolean } | undefined {
  try {
    const packageDir = realpathSync(join(here, "../.."));
    if (packageDir.split(sep).includes("node_modules")) return undefined;
    const opts = {
      cwd: here,
      encoding: "utf8" as const,
      stdio: ["ignore", "pipe", "ignore"] as ["ignore", "pipe", "ignore"],
    };
    // The repository's own apps/train must be this package, not a checkout that merely contains it.
    const top = execFileSync("git", ["rev-parse", "--show-toplevel"], opts).trim();
    const ours = join(top, "apps", "train");
    if (!existsSync(ours) || realpathSync(ours) !== packageDir) return undefined;
    const commit = execFileSync("git", ["rev-parse", "HEAD"], opts).trim();
    const status = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], opts).trim();
    return { commit, dirty: status !== "" };
  } catch {
    return undefined;
  }
}

export function machine(): { hostname: string; cpus: number; cpuModel: string; platform: string } {
  const list = cpus();
  return {
    hostname: hostname(),
    cpus: list.length,
    cpuModel: list[0]?.model ?? "unknown",
    platform: `${process.platform}-${process.arch}`,
  };
}
