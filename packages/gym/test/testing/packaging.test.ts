import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL("../..", import.meta.url));
const hide = fileURLToPath(new URL("../support/hide-fast-check.mjs", import.meta.url));

/** Runs an ES module snippet with node from this package's folder, on sources, as a user's script would. */
async function node(code: string, extraImports: string[] = []) {
  const args = ["--conditions=source", "--import", "tsx", ...extraImports.flatMap((m) => ["--import", m])];
  try {
    const { stdout } = await run(process.execPath, [...args, "--input-type=module", "-e", code], {
      cwd: packageDir,
    });
    return { ok: true, out: stdout };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return { ok: false, out: `${err.stdout ?? ""}${err.stderr ?? ""}` };
  }
}

describe("fast-check is an optional peer dependency", () => {
  it('import "@sgprop/gym" works without it; "@sgprop/gym/testing" names what is missing', async () => {
    const main = await node(
      `const gym = await import("@sgprop/gym"); const env = new gym.Discrete(3); console.log(typeof gym.Env, env.contains(2));`,
      [hide],
    );
    expect(main).toEqual({ ok: true, out: "function true\n" });
    const testing = await node(`await import("@sgprop/gym/testing");`, [hide]);
    expect(testing.ok).toBe(false);
    expect(testing.out).toMatch(/Cannot find package 'fast-check'/);
    // Without the hook the same import works: the failure above is the missing peer, nothing else.
    expect(
      await node(`const t = await import("@sgprop/gym/testing"); console.log(typeof t.envProperties);`),
    ).toEqual({ ok: true, out: "function\n" });
  });

  it("is declared as an optional peer, and the testing entry is exported like the main one", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    expect(pkg.peerDependencies["fast-check"]).toBeDefined();
    expect(pkg.peerDependenciesMeta["fast-check"]).toEqual({ optional: true });
    expect(pkg.dependencies?.["fast-check"]).toBeUndefined();
    expect(Object.keys(pkg.exports["./testing"])).toEqual(Object.keys(pkg.exports["."]));
  });
});

describe("README: Property-testing your environment", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

  it.each(["thermostat.ts", "property-test.ts", "thermostat.test.ts"])(
    "shows examples/%s verbatim",
    (file) => {
      const source = readFileSync(new URL(`../../examples/${file}`, import.meta.url), "utf8");
      expect(readme).toContain(source.trim());
    },
  );

  it("examples/property-test.ts runs as a program and passes every property", async () => {
    const result = await node(`await import("./examples/property-test.ts");`);
    expect(result.ok).toBe(true);
    const lines = result.out.trim().split("\n");
    expect(lines).toHaveLength(9);
    for (const line of lines) expect(line).toMatch(/^ok {2}\w+: /);
  });
});
