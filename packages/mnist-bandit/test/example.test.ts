import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { trainLinearPolicy } from "../examples/linear-reinforce.js";

describe("README example", () => {
  it("shows examples/linear-reinforce.ts verbatim", () => {
    const example = readFileSync(new URL("../examples/linear-reinforce.ts", import.meta.url), "utf8");
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    expect(readme).toContain(example.trim());
  });

  it("a linear REINFORCE policy learns well above chance (1/9) under 40% reward flips", async () => {
    const before = await trainLinearPolicy(0);
    expect(before.expectedReward).toBeCloseTo(1 / 9, 6);
    const after = await trainLinearPolicy(200);
    expect(after.expectedReward).toBeGreaterThan(0.25);
  });
});
