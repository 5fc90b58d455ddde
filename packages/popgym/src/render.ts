import { Cell } from "./cells.js";
import type { LabyrinthState } from "./labyrinth-state.js";

export interface AnsiRenderOptions {
  /** Mark the start entrance (default true). */
  start?: boolean;
  /** Mark the end entrance (default: escape yes, explore no, like POPGym). */
  end?: boolean;
  /** Mark visited cells with `++` (default true). */
  visited?: boolean;
}

/**
 * POPGym's text view: two characters per cell, `██` wall, `  ` free, `++` visited, 🟢 start,
 * 🛑 goal, 🚎 agent. (POPGym drops the two characters of an unvisited goal cell and so shifts its
 * row; that display bug is not reproduced.)
 */
export function renderAnsi(s: LabyrinthState, opts: AnsiRenderOptions = {}): string {
  const showStart = opts.start ?? true;
  const showEnd = opts.end ?? s.kind === "escape";
  const showVisited = opts.visited ?? true;
  const e = s.entrances;
  const lines: string[] = [];
  for (let r = 0; r < s.rows; r++) {
    let line = "";
    for (let c = 0; c < s.cols; c++) {
      const i = r * s.cols + c;
      if (r === s.row && c === s.col) line += "🚎";
      else if (showStart && r === e.startRow && c === e.startCol) line += "🟢";
      else if (showEnd && r === e.endRow && c === e.endCol) line += "🛑";
      else if (showVisited && s.explored[i] === 1) line += "++";
      else line += s.grid[i] === Cell.Wall ? "██" : "  ";
    }
    lines.push(line);
  }
  return lines.join("\n");
}

export interface SvgRenderOptions {
  /** Pixels per cell (default 24). */
  cellSize?: number;
  /** Shade visited cells (default true). */
  visited?: boolean;
  /** Optional caption drawn above the maze. */
  title?: string;
}

/** Colours used by {@link renderSvg}; exported so that tests and legends can refer to them. */
export const SVG_COLOURS = {
  wall: "#2b2d42",
  free: "#ffffff",
  visited: "#bde0fe",
  start: "#2a9d8f",
  goal: "#e63946",
  agent: "#f4a261",
} as const;

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/**
 * A standalone SVG picture of the maze: walls, free and visited cells, the start (teal square),
 * the goal (red square, escape only) and the agent (orange disc).
 */
export function renderSvg(s: LabyrinthState, opts: SvgRenderOptions = {}): string {
  const size = opts.cellSize ?? 24;
  if (!(size > 0) || !Number.isFinite(size))
    throw new RangeError(`cellSize must be a positive number, got ${size}`);
  const showVisited = opts.visited ?? true;
  const top = opts.title !== undefined ? Math.round(size * 1.2) : 0;
  const width = s.cols * size;
  const height = s.rows * size + top;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" shape-rendering="crispEdges">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="${SVG_COLOURS.free}"/>`,
  ];
  if (opts.title !== undefined) {
    parts.push(
      `<text x="${width / 2}" y="${top * 0.75}" font-family="sans-serif" font-size="${size * 0.6}" text-anchor="middle">${escapeXml(opts.title)}</text>`,
    );
  }
  const e = s.entrances;
  const cell = (r: number, c: number, fill: string, cls: string) =>
    parts.push(
      `<rect class="${cls}" x="${c * size}" y="${top + r * size}" width="${size}" height="${size}" fill="${fill}"/>`,
    );
  for (let r = 0; r < s.rows; r++) {
    for (let c = 0; c < s.cols; c++) {
      const i = r * s.cols + c;
      if (r === e.startRow && c === e.startCol) cell(r, c, SVG_COLOURS.start, "start");
      else if (s.grid[i] === Cell.Goal) cell(r, c, SVG_COLOURS.goal, "goal");
      else if (s.grid[i] === Cell.Wall) cell(r, c, SVG_COLOURS.wall, "wall");
      else if (showVisited && s.explored[i] === 1) cell(r, c, SVG_COLOURS.visited, "visited");
    }
  }
  parts.push(
    `<circle class="agent" cx="${(s.col + 0.5) * size}" cy="${top + (s.row + 0.5) * size}" r="${size * 0.35}" fill="${SVG_COLOURS.agent}"/>`,
    "</svg>",
  );
  return parts.join("\n");
}
