import { readdirSync } from "node:fs";
import { join } from "node:path";
import { conformanceCommand } from "@sgprop/train";
import { describe, expect, it } from "vitest";

// Runs each bundled golden file through the same code path as `pnpm conformance`.
const dir = join(import.meta.dirname, "golden");
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .sort();

describe("golden conformance", () => {
  it.each(files)("%s passes", async (name) => {
    const lines: string[] = [];
    const { exitCode, summary } = await conformanceCommand([join(dir, name)], (l) => lines.push(l));
    expect(lines.join("\n")).toMatch(/^PASS/);
    expect(summary.passed).toBe(1);
    expect(exitCode).toBe(0);
  });
});
