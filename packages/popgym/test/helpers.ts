import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseGoldenFile } from "@sgprop/conformance";
import { type GoldenEpisode, readGoldenEpisodes } from "../src/golden-episodes.js";

export const goldenDir = join(import.meta.dirname, "../../../test/golden");

export function goldenEpisodes(kind: "escape" | "explore"): GoldenEpisode[] {
  const path = join(goldenDir, `labyrinth-${kind}.json`);
  return readGoldenEpisodes(parseGoldenFile(readFileSync(path, "utf8"), path));
}

/** Non-wall cells reachable from `from` by 4-neighbour moves (BFS). */
export function reachable(grid: ArrayLike<number>, rows: number, cols: number, from: number): Set<number> {
  const seen = new Set<number>([from]);
  const queue = [from];
  while (queue.length > 0) {
    const i = queue.pop() as number;
    const r = Math.floor(i / cols);
    const c = i % cols;
    for (const [dr, dc] of [
      [-1, 0],
      [1, 0],
      [0, -1],
      [0, 1],
    ] as const) {
      const nr = r + dr;
      const nc = c + dc;
      if (nr < 0 || nr >= rows || nc < 0 || nc >= cols) continue;
      const j = nr * cols + nc;
      if (grid[j] !== 1 && !seen.has(j)) {
        seen.add(j);
        queue.push(j);
      }
    }
  }
  return seen;
}
