// Every @sgprop package as a user meets it: packed (its prepack builds it), installed from the
// tarballs with plain npm into an empty ESM project (third-party packages from the npm registry),
// then imported, required, type-checked and run. Packages are found in pnpm-workspace.yaml, so a
// new package joins every check here without editing this file.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { npmInstall, packAll, prepareTwoGyms, writeProject } from "./project.js";
import { cleanEnv, describeRun, type RunResult, run, runOk } from "./shell.js";
import { exportSpecifiers, tarballName, workspacePackages } from "./workspace.js";

const packages = workspacePackages();
const testBin = (name: string) => join(import.meta.dirname, "../node_modules/.bin", name);
const work = mkdtempSync(join(tmpdir(), "sgprop-packaging-"));
const tarballs = join(work, "tarballs");
const project = join(work, "project");
let programs: ReturnType<typeof writeProject> = [];
let twoGyms: Awaited<ReturnType<typeof prepareTwoGyms>>;
const installed = (name: string) => join(project, "node_modules", name);
/** publint and attw results per tarball, computed while npm installs. */
const lint = new Map<string, { publint: RunResult; attw: RunResult }>();
const timings: string[] = [];

async function timed<T>(label: string, f: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await f();
  } finally {
    timings.push(`${label}: ${((performance.now() - start) / 1000).toFixed(1)} s`);
  }
}

async function lintTarballs(): Promise<void> {
  for (const pkg of packages) {
    const tgz = join(tarballs, tarballName(pkg.name, pkg.version));
    const publint = await run(testBin("publint"), ["run", tgz, "--level", "suggestion"], {
      cwd: work,
      env: cleanEnv(),
    });
    // cjs-resolves-to-esm is ignored: Node >= 20.19 (our `engines`) loads ESM with require(), and
    // attw does not model that yet (arethetypeswrong.github.io issue 252); the require() test
    // below proves it on every export instead.
    const attw = await run(
      testBin("attw"),
      [tgz, "--profile", "node16", "--ignore-rules", "cjs-resolves-to-esm", "--format", "ascii"],
      { cwd: work, env: cleanEnv() },
    );
    lint.set(pkg.name, { publint, attw });
  }
}

beforeAll(async () => {
  await timed("pack", () => packAll(packages, tarballs));
  programs = writeProject(project, tarballs, packages);
  twoGyms = await prepareTwoGyms(work, tarballs, packages);
  await Promise.all([
    timed("publint + attw", lintTarballs),
    timed("npm install (both projects)", async () => {
      await npmInstall(project);
      // The second install finds every third-party package in npm's cache after the first.
      await npmInstall(twoGyms.project);
    }),
  ]);
  // A user's project is usually a git checkout: sgprop must not record its commit as ours.
  if ((await run("git", ["init", "-q"], { cwd: project })).code === 0) {
    const id = ["-c", "user.name=user", "-c", "user.email=user@example.invalid"];
    await run("git", [...id, "commit", "-q", "--allow-empty", "-m", "user's project"], { cwd: project });
  }
}, 420_000);

afterAll(() => {
  console.log(`packaging test timings:\n  ${timings.join("\n  ")}`);
  rmSync(work, { recursive: true, force: true });
});

describe.each(packages)("$name tarball", (pkg) => {
  it("ships built code, README and LICENSE; its manifest is complete and has no source condition", () => {
    const dir = installed(pkg.name);
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Record<string, unknown>;
    expect(existsSync(join(dir, "README.md"))).toBe(true);
    expect(readFileSync(join(dir, "LICENSE"), "utf8")).toMatch(/MIT License/);
    expect(manifest.license).toBe("MIT");
    expect(manifest.engines).toEqual({ node: ">=20.19" });
    expect(manifest.repository).toMatchObject({ type: "git" });
    expect(manifest.sideEffects).toBeDefined();
    expect(manifest.main).toBe("./dist/index.js");
    expect(manifest.types).toBe("./dist/index.d.ts");
    expect(existsSync(join(dir, "dist", "index.js"))).toBe(true);
    expect(existsSync(join(dir, "dist", "index.d.ts"))).toBe(true);
    expect(JSON.stringify(manifest.exports)).not.toMatch(/"source"/);
    expect(JSON.stringify(manifest.exports)).not.toMatch(/src\//);
    for (const [, range] of Object.entries((manifest.dependencies ?? {}) as Record<string, string>)) {
      expect(range).not.toMatch(/^workspace:/);
    }
    // Internal dependencies take compatible versions (^), so npm can share one copy.
    for (const [name, range] of Object.entries((manifest.dependencies ?? {}) as Record<string, string>)) {
      if (name.startsWith("@sgprop/")) expect(range, name).toMatch(/^\^/);
    }
  });

  it("has source maps that carry their sources", () => {
    const dist = join(installed(pkg.name), "dist");
    const maps: string[] = [];
    const walk = (d: string) => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (f.endsWith(".map")) maps.push(p);
      }
    };
    walk(dist);
    const missing: string[] = [];
    for (const m of maps) {
      const map = JSON.parse(readFileSync(m, "utf8")) as {
        sources: string[];
        sourcesContent?: (string | null)[];
      };
      map.sources.forEach((s, i) => {
        if (typeof map.sourcesContent?.[i] !== "string" && !existsSync(join(dirname(m), s))) {
          missing.push(`${m}: ${s}`);
        }
      });
    }
    expect(missing).toEqual([]);
  });

  it("passes publint", () => {
    const r = lint.get(pkg.name)?.publint;
    expect(r?.code, r && describeRun(r)).toBe(0);
  });

  it("passes @arethetypeswrong/cli (node16 profile)", () => {
    const r = lint.get(pkg.name)?.attw;
    expect(r?.code, r && describeRun(r)).toBe(0);
  });

  it("imports and requires every export", async () => {
    const specifiers = exportSpecifiers(pkg.manifest);
    const esm = join(project, `smoke-${pkg.name.replace(/\W/g, "_")}.mjs`);
    const cjs = join(project, `smoke-${pkg.name.replace(/\W/g, "_")}.cjs`);
    writeFileSync(
      esm,
      `for (const s of ${JSON.stringify(specifiers)}) { const m = await import(s); if (Object.keys(m).length === 0) throw new Error(s + ": no exports"); }\n`,
    );
    writeFileSync(
      cjs,
      `for (const s of ${JSON.stringify(specifiers)}) { const m = require(s); if (Object.keys(m).length === 0) throw new Error(s + ": no exports"); }\n`,
    );
    for (const file of [esm, cjs]) {
      const r = await run("node", [file], { cwd: project });
      expect(r.code, `${file}\n${describeRun(r)}`).toBe(0);
    }
  }, 60_000);
});

describe("the user's project", () => {
  it("type-checks the README examples and example files (strict, NodeNext, skipLibCheck off)", async () => {
    expect(programs.length).toBeGreaterThanOrEqual(packages.length - 1);
    const r = await run(join(project, "node_modules/.bin/tsc"), ["-p", "tsconfig.json"], { cwd: project });
    expect(r.code, describeRun(r)).toBe(0);
  }, 120_000);

  it("resolves every package's types with the legacy moduleResolution node (main/types fallbacks)", async () => {
    const legacy = join(project, "legacy");
    rmSync(legacy, { recursive: true, force: true });
    const imports = packages.map(
      (p, i) => `import * as m${i} from "${p.name}";\nexport const x${i} = m${i};`,
    );
    writeFileSync(join(project, "legacy.ts"), `${imports.join("\n")}\n`);
    const r = await run(
      join(project, "node_modules/.bin/tsc"),
      [
        "legacy.ts",
        "--noEmit",
        "--module",
        "commonjs",
        "--moduleResolution",
        "node",
        "--target",
        "ES2022",
        "--strict",
        "--skipLibCheck",
        "--types",
        "node",
      ],
      { cwd: project },
    );
    expect(r.code, describeRun(r)).toBe(0);
  }, 120_000);

  it("runs each package README's first example and each example file", async () => {
    const failures: string[] = [];
    for (const p of programs) {
      const js = join(project, "build", `${p.id}.js`);
      const file = existsSync(js) ? js : join(project, "src", `${p.id}.mjs`);
      const r = await run("node", [file], {
        cwd: project,
        env: cleanEnv({ SGPROP_CACHE_DIR: join(work, "cache") }),
        timeoutMs: 120_000,
      });
      timings.push(`${p.source}: ${r.seconds.toFixed(1)} s`);
      if (r.code !== 0) failures.push(`${p.source}: ${describeRun(r)}`);
    }
    expect(failures).toEqual([]);
  }, 240_000);

  it("npx sgprop --version prints the version of @sgprop/train", async () => {
    const train = packages.find((p) => p.name === "@sgprop/train");
    const r = await runOk("npx", ["--no-install", "sgprop", "--version"], { cwd: project });
    expect(r.stdout.trim()).toBe(train?.version);
  }, 60_000);

  it("npx sgprop train --preset tiny writes a results folder, without the user's git commit", async () => {
    const r = await run(
      "npx",
      ["--no-install", "sgprop", "train", "--preset", "tiny", "--out", "runs/tiny"],
      {
        cwd: project,
        timeoutMs: 120_000,
      },
    );
    expect(r.code, describeRun(r)).toBe(0);
    const config = JSON.parse(readFileSync(join(project, "runs/tiny/config.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(config.git).toBeUndefined();
    expect(readFileSync(join(project, "runs/tiny/metrics.csv"), "utf8").split("\n").length).toBeGreaterThan(
      2,
    );
  }, 120_000);

  it("npx sgprop conformance passes every golden file shipped in @sgprop/conformance", async () => {
    const r = await run("npx", ["--no-install", "sgprop", "conformance"], {
      cwd: project,
      timeoutMs: 120_000,
    });
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout).toMatch(/node_modules\/@sgprop\/conformance\/golden\//);
    expect(r.stdout).toMatch(/\n(\d+) passed, 0 failed/);
  }, 120_000);
});

describe("two versions of @sgprop/gym side by side", () => {
  it("share the registry and recognise each other's spaces and envs", async () => {
    const nested = join(twoGyms.project, "node_modules/@sgprop/popgym/node_modules/@sgprop/gym/package.json");
    const top = join(twoGyms.project, "node_modules/@sgprop/gym/package.json");
    expect((JSON.parse(readFileSync(nested, "utf8")) as { version: string }).version).toBe(twoGyms.packed);
    expect((JSON.parse(readFileSync(top, "utf8")) as { version: string }).version).toBe(twoGyms.bumped);
    writeFileSync(
      join(twoGyms.project, "check.mjs"),
      [
        'import { checkEnv, make, Space } from "@sgprop/gym";',
        'import { LabyrinthEscape, registerPopgymEnvs } from "@sgprop/popgym";',
        "const env = new LabyrinthEscape();",
        "const report = checkEnv(env);",
        'if (!report.ok) throw new Error("checkEnv: " + report.problems.join("; "));',
        'if (!(env.observationSpace instanceof Space)) throw new Error("not a Space");',
        "registerPopgymEnvs();",
        'const made = make("popgym/LabyrinthEscape-v0");',
        "const [obs] = made.reset({ seed: 1 });",
        'if (obs.length !== 10) throw new Error("unexpected observation " + obs);',
        'console.log("ok");',
      ].join("\n"),
    );
    const r = await run("node", ["check.mjs"], { cwd: twoGyms.project });
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout.trim()).toBe("ok");
  }, 60_000);
});
