import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { renderFigure, renderSvg } from "../src/plot/index.js";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const spec = {
  data: {
    values: [0, 1, 2, 3].flatMap((x) => [
      { x, y: x * x, method: "sgprop" },
      { x, y: 2 * x, method: "backprop" },
    ]),
  },
  mark: "line" as const,
  title: "demo curve",
  encoding: {
    x: { field: "x", type: "quantitative" as const },
    y: { field: "y", type: "quantitative" as const },
    color: { field: "method", type: "nominal" as const },
  },
};

describe("renderFigure", () => {
  it("renders one SVG path per series with the title text", async () => {
    const svg = await renderSvg(spec);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("demo curve");
    expect(svg.match(/aria-roledescription="line mark"/g)?.length).toBe(2);
  });

  it("writes an SVG and a PNG next to each other", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sgprop-plot-"));
    dirs.push(dir);
    const out = await renderFigure(spec, join(dir, "sub", "fig"));
    expect(out.svg).toBe(join(dir, "sub", "fig.svg"));
    const png = await readFile(out.png);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.length).toBeGreaterThan(2000);
  });
});
