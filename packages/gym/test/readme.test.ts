import { readFileSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";

describe("README example", () => {
  it("is examples/corridor.ts verbatim and runs", async () => {
    const example = readFileSync(new URL("../examples/corridor.ts", import.meta.url), "utf8");
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    expect(readme).toContain(example.trim());
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    await import("../examples/corridor.js");
    const lines = log.mock.calls;
    log.mockRestore();
    expect(lines[0]).toEqual([[]]);
    expect(lines[2]).toEqual([[4, 6], 24]);
    const [len, rewards, terminated] = lines[3] as [number, number[], number[]];
    expect(len).toBe(24);
    expect(rewards[3]).toBe(0);
    expect(terminated).toHaveLength(4);
  });
});
