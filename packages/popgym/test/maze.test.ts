import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "@sgprop/gym";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  Cell,
  generateMaze,
  InvalidMazeDimsError,
  type Maze,
  Mt19937,
  ReferenceMazeRandom,
  ReferenceSeedError,
  RngMazeRandom,
  validateMazeDims,
} from "../src/index.js";
import { goldenEpisodes, reachable } from "./helpers.js";

interface FixtureMaze {
  mazeDims: [number, number];
  seed: number;
  grid: string;
  start: [number, number];
  end: [number, number];
}
const fixture = JSON.parse(
  readFileSync(join(import.meta.dirname, "fixtures/reference-mazes.json"), "utf8"),
) as {
  mazes: FixtureMaze[];
};

const evenDims = fc
  .tuple(fc.integer({ min: 3, max: 10 }), fc.integer({ min: 3, max: 10 }))
  .map(([a, b]) => [2 * a, 2 * b] as [number, number]);

function checkMazeShape(m: Maze): void {
  const { rows, cols, grid } = m;
  const si = m.start[0] * cols + m.start[1];
  const ei = m.end[0] * cols + m.end[1];
  // Border: wall everywhere (the entrances are still wall in the raw grid).
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (r === 0 || c === 0 || r === rows - 1 || c === cols - 1) expect(grid[r * cols + c]).toBe(Cell.Wall);
      if (r % 2 === 0 && c % 2 === 0) expect(grid[r * cols + c]).toBe(Cell.Wall);
    }
  }
  // Entrances on opposite sides, at odd coordinates, each next to a hallway cell.
  const side = (p: readonly [number, number]) =>
    p[0] === 0 ? "N" : p[0] === rows - 1 ? "S" : p[1] === 0 ? "W" : p[1] === cols - 1 ? "E" : "inside";
  const opposite: Record<string, string> = { N: "S", S: "N", W: "E", E: "W" };
  expect(opposite[side(m.start)]).toBe(side(m.end));
  for (const p of [m.start, m.end]) {
    const along = p[0] === 0 || p[0] === rows - 1 ? p[1] : p[0];
    expect(along % 2).toBe(1);
  }
  expect(si).not.toBe(ei);
  // Open cells form one tree-shaped component containing every hallway cell.
  let open = 0;
  let first = -1;
  for (let i = 0; i < grid.length; i++) {
    if (grid[i] === Cell.Free) {
      open++;
      if (first < 0) first = i;
    }
  }
  expect(reachable(grid, rows, cols, first).size).toBe(open);
  const hallways = ((rows - 1) / 2) * ((cols - 1) / 2);
  expect(open).toBe(2 * hallways - 1);
}

describe("maze generation (default generator, env Rng)", () => {
  it("gives well-formed perfect mazes with opposite entrances (property, 300 runs)", () => {
    fc.assert(
      fc.property(evenDims, fc.nat({ max: Number.MAX_SAFE_INTEGER }), (dims, seed) => {
        checkMazeShape(generateMaze(dims, new RngMazeRandom(Rng.fromSeed(seed))));
      }),
      { numRuns: 300 },
    );
  });

  it("is a function of the seed", () => {
    const a = generateMaze([10, 12], new RngMazeRandom(Rng.fromSeed(42)));
    const b = generateMaze([10, 12], new RngMazeRandom(Rng.fromSeed(42)));
    const c = generateMaze([10, 12], new RngMazeRandom(Rng.fromSeed(43)));
    expect(b).toEqual(a);
    expect(c.grid).not.toEqual(a.grid);
  });

  it("draws the four start sides about equally often", () => {
    const counts = [0, 0, 0, 0];
    const rng = Rng.fromSeed(7);
    for (let i = 0; i < 4000; i++) {
      const m = generateMaze([6, 6], new RngMazeRandom(rng));
      const [r, c] = m.start;
      counts[r === 0 ? 0 : r === 6 ? 1 : c === 0 ? 2 : 3]! += 1;
    }
    for (const n of counts) expect(Math.abs(n - 1000)).toBeLessThan(150);
  });
});

describe("maze generation (reference generator: CPython + numpy MT19937 replay)", () => {
  it("reproduces MT19937 outputs of CPython random.seed and numpy np.random.seed", () => {
    // random.seed(0); random.random() and np.random.seed(0); np.random.rand() (53-bit doubles).
    const toDouble = (g: Mt19937) =>
      ((g.nextUint32() >>> 5) * 67108864 + (g.nextUint32() >>> 6)) / 9007199254740992;
    expect(toDouble(Mt19937.fromPythonSeed(0))).toBe(0.8444218515250481);
    expect(toDouble(Mt19937.fromNumpyLegacySeed(0))).toBe(0.5488135039273248);
    expect(toDouble(Mt19937.fromPythonSeed(42))).toBe(0.6394267984578837);
  });

  it("reproduces every golden file maze from its seed", () => {
    for (const kind of ["escape", "explore"] as const) {
      for (const ep of goldenEpisodes(kind)) {
        const m = generateMaze(ep.mazeDims, ReferenceMazeRandom.fromSeed(ep.seed));
        const grid = ep.grid.map((row) => [...row]);
        // The golden grids are taken after reset: entrances marked 2 (and 3 in escape).
        grid[ep.start[0]]![ep.start[1]] = 1;
        grid[ep.end[0]]![ep.end[1]] = 1;
        expect([...m.grid]).toEqual(grid.flat());
        expect(m.start).toEqual(ep.start);
        expect(m.end).toEqual(ep.end);
      }
    }
  });

  it(`reproduces ${fixture.mazes.length} mazes made by CPython/numpy (square and non-square, large seeds)`, () => {
    for (const f of fixture.mazes) {
      const m = generateMaze(f.mazeDims, ReferenceMazeRandom.fromSeed(f.seed));
      expect([...m.grid].join(""), `seed ${f.seed} dims ${f.mazeDims}`).toBe(f.grid);
      expect(m.start).toEqual(f.start);
      expect(m.end).toEqual(f.end);
    }
  });

  it("gives well-formed mazes (property, 200 runs)", () => {
    fc.assert(
      fc.property(evenDims, fc.nat({ max: 2 ** 32 - 1 }), (dims, seed) => {
        checkMazeShape(generateMaze(dims, ReferenceMazeRandom.fromSeed(seed)));
      }),
      { numRuns: 200 },
    );
  });

  it("rejects seeds numpy's legacy seeding rejects", () => {
    expect(() => ReferenceMazeRandom.fromSeed(2 ** 32)).toThrow(ReferenceSeedError);
    expect(() => ReferenceMazeRandom.fromSeed(-1)).toThrow(/\[0, 2\^32\)/);
  });
});

describe("validateMazeDims", () => {
  it.each([
    [[7, 6], /7 is odd/],
    [[6, 5], /5 is odd/],
    [[4, 6], /4 is below 6/],
    [[0, 0], /below 6/],
    [[6.5, 6], /6.5 is not an integer/],
    [[Number.NaN, 6], /NaN is not an integer/],
    [[6], /pair/],
    ["6x6", /pair/],
  ])("rejects %j", (dims, message) => {
    expect(() => validateMazeDims(dims)).toThrow(InvalidMazeDimsError);
    expect(() => validateMazeDims(dims)).toThrow(message);
  });

  it("accepts even dims >= 6", () => {
    expect(validateMazeDims([6, 20])).toEqual([6, 20]);
  });
});
