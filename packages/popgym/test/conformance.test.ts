import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type GoldenFile, MalformedGoldenError, parseGoldenFile } from "@sgprop/conformance";
import { describe, expect, it } from "vitest";
import { labyrinthCheckers } from "../src/index.js";
import { goldenDir } from "./helpers.js";

function load(kind: string): GoldenFile {
  const path = join(goldenDir, `labyrinth-${kind}.json`);
  return parseGoldenFile(readFileSync(path, "utf8"), path);
}

function checker(name: string) {
  const c = labyrinthCheckers.find((x) => x.case === name);
  if (c === undefined) throw new Error(`no checker for ${name}`);
  return c;
}

describe("labyrinth conformance checkers", () => {
  it("register both cases", () => {
    expect(labyrinthCheckers.map((c) => c.case).sort()).toEqual(["labyrinth-escape", "labyrinth-explore"]);
  });

  it.each(["escape", "explore"])("pass on the golden %s file", async (kind) => {
    const out = await checker(`labyrinth-${kind}`).check(load(kind));
    expect(out.firstMismatch).toBeUndefined();
    expect(out.pass).toBe(true);
    expect(out.compared).toBeGreaterThan(50_000);
  });

  it("report the first mismatching step of a corrupted file", async () => {
    const file = structuredClone(load("escape")) as GoldenFile & {
      episodes: { steps: { reward: number }[] }[];
    };
    file.episodes[1]!.steps[12]!.reward = 0.5;
    const out = await checker("labyrinth-escape").check(file);
    expect(out.pass).toBe(false);
    expect(out.firstMismatch).toMatch(
      /^episode 1 \(seed 1, 6x6, uniform-random\) \[wrapped env\] step 12 \(action \d\): reward/,
    );
  });

  it("report a wrong observation with its index", async () => {
    const file = structuredClone(load("explore")) as GoldenFile & {
      episodes: { steps: { obs: number[] }[] }[];
    };
    const obs = file.episodes[0]!.steps[3]!.obs;
    obs[54] = 0;
    obs[55] = 1;
    const out = await checker("labyrinth-explore").check(file);
    expect(out.firstMismatch).toMatch(/step 3 .*observation\[54\]: 1 != 0/);
  });

  it("refuse malformed files", () => {
    const file = structuredClone(load("escape")) as GoldenFile & { episodes: Record<string, unknown>[] };
    delete file.episodes[2]!.steps;
    expect(() => checker("labyrinth-escape").check(file)).toThrow(MalformedGoldenError);
    expect(() => checker("labyrinth-escape").check({ ...file, episodes: [] })).toThrow(/non-empty/);
  });
});
