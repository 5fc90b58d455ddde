import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";

describe("README example", () => {
  it("is the file test/readme-example.ts, and it runs", async () => {
    const readme = readFileSync(join(import.meta.dirname, "../README.md"), "utf8");
    const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBe(readFileSync(join(import.meta.dirname, "readme-example.ts"), "utf8"));
    const lines: unknown[][] = [];
    const log = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
      lines.push(args);
    });
    try {
      await import("./readme-example.js");
    } finally {
      log.mockRestore();
    }
    expect(lines.at(-1)).toEqual([1120, 40]);
    expect(lines).toContainEqual([56, 49]);
  });
});
