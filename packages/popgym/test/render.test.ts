import { Resvg } from "@resvg/resvg-js";
import { describe, expect, it } from "vitest";
import { LabyrinthEscape, LabyrinthExplore, makePaperLabyrinth, SVG_COLOURS } from "../src/index.js";
import { goldenEpisodes } from "./helpers.js";

const ep = goldenEpisodes("escape")[0]!; // start [5, 6] (east), goal [5, 0] (west)

function hex(rgb: ArrayLike<number>, at: number): string {
  return `#${[0, 1, 2].map((k) => (rgb[at + k] as number).toString(16).padStart(2, "0")).join("")}`;
}

describe("ANSI render", () => {
  it("draws POPGym's text view: two characters per cell, agent, start, goal and visited cells", () => {
    const env = new LabyrinthEscape({ mazeDims: [6, 6], episodeLength: 80, renderMode: "ansi" });
    env.reset({ options: { maze: ep } });
    env.step(0);
    env.step(0);
    const text = env.render() as string;
    const lines = text.split("\n");
    expect(lines).toHaveLength(7);
    for (const line of lines) expect(Array.from(line.replace(/[🚎🟢🛑]/gu, "xx"))).toHaveLength(14);
    expect(lines[0]).toBe("██".repeat(7));
    // row 5: goal, free cells, agent at col 4, visited col 5, start
    expect(lines[5]).toBe("🛑      🚎++🟢");
    expect(text.match(/🚎/gu)).toHaveLength(1);
  });

  it("hides the end in explore (it is a wall there) and returns undefined without a render mode", () => {
    const env = new LabyrinthExplore({ mazeDims: [6, 6], episodeLength: 40, renderMode: "ansi" });
    env.reset({ options: { maze: goldenEpisodes("explore")[0]! } });
    expect(env.render()).not.toContain("🛑");
    expect(env.render()?.split("\n")[5]?.startsWith("██")).toBe(true);
    const silent = new LabyrinthEscape();
    silent.reset({ seed: 1 });
    expect(silent.render()).toBeUndefined();
    expect(silent.renderAnsi().split("\n")).toHaveLength(11);
  });
});

describe("SVG render", () => {
  it("rasterises (resvg) to the expected colours at cell centres", () => {
    const env = new LabyrinthEscape({ mazeDims: [6, 6], episodeLength: 80, renderMode: "svg" });
    env.reset({ options: { maze: ep } });
    env.step(0); // agent to [5, 5]; start [5, 6] stays visible
    const svg = env.render() as string;
    expect(svg.startsWith("<svg")).toBe(true);
    const size = 24;
    const image = new Resvg(svg).render();
    expect(image.width).toBe(7 * size);
    expect(image.height).toBe(7 * size);
    const px = image.pixels;
    const colourAt = (r: number, c: number, dx = 0.5, dy = 0.5) =>
      hex(px, (Math.floor((r + dy) * size) * image.width + Math.floor((c + dx) * size)) * 4);
    expect(colourAt(0, 0)).toBe(SVG_COLOURS.wall);
    expect(colourAt(1, 1)).toBe(SVG_COLOURS.free);
    expect(colourAt(5, 6)).toBe(SVG_COLOURS.start);
    expect(colourAt(5, 0)).toBe(SVG_COLOURS.goal);
    expect(colourAt(5, 5)).toBe(SVG_COLOURS.agent);
    expect(colourAt(5, 5, 0.05, 0.05)).toBe(SVG_COLOURS.visited); // corner of the agent's visited cell
    expect(colourAt(5, 4)).toBe(SVG_COLOURS.free);
  });

  it("draws a title and escapes it; the paper env renders too", () => {
    const env = makePaperLabyrinth("explore", { renderMode: "svg" });
    env.reset({ seed: 4 });
    const svg = (env.unwrapped as LabyrinthExplore).renderSvg({ title: "seed <4>", cellSize: 10 });
    expect(svg).toContain("seed &#60;4&#62;");
    const image = new Resvg(svg).render();
    expect(image.width).toBe(70);
    expect(env.render()).toContain("<svg");
    expect(() => (env.unwrapped as LabyrinthExplore).renderSvg({ cellSize: 0 })).toThrow(/cellSize/);
  });
});
