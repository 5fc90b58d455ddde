import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

describe("README", () => {
  it("shows examples/alignment.ts verbatim as its first example", () => {
    const example = readFileSync(new URL("../examples/alignment.ts", import.meta.url), "utf8");
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    expect(readme).toContain(example.trim());
    expect(readme.indexOf("```ts")).toBe(readme.indexOf(example.trim()) - "```ts\n".length);
  });
});
