import { Cell } from "./cells.js";
import { InvalidMazeDimsError, InvalidMazeError } from "./errors.js";
import type { MazeRandom } from "./maze-random.js";

/** A maze grid with its two entrances; cells are row-major, `rows = h + 1`, `cols = w + 1`. */
export interface Maze {
  readonly rows: number;
  readonly cols: number;
  /** Row-major cell codes (0 free, 1 wall; 2 start and 3 goal once an env has placed them). */
  readonly grid: Uint8Array;
  /** Start entrance as [row, col]. */
  readonly start: readonly [number, number];
  /** End entrance as [row, col]. */
  readonly end: readonly [number, number];
}

/**
 * A maze given to `reset({options: {maze}})`: the grid as rows of codes (top row first) or as a
 * row-major array, with the entrances as [row, col]. The golden files' `grid`, `start` and `end`
 * fields can be passed as they are.
 */
export interface InjectedMaze {
  readonly grid: readonly (readonly number[])[] | ArrayLike<number>;
  readonly start: readonly [number, number] | readonly number[];
  /** Required for escape; explore may leave it out (its end cell is a wall that is never used). */
  readonly end?: readonly [number, number] | readonly number[];
}

/** Checks POPGym's constraints on `maze_dims` (both even; mazelib needs at least 3 hallways per side). */
export function validateMazeDims(mazeDims: unknown): [number, number] {
  if (!Array.isArray(mazeDims) || mazeDims.length !== 2) {
    throw new InvalidMazeDimsError(mazeDims, "expected a pair [height, width]");
  }
  for (const d of mazeDims as unknown[]) {
    if (typeof d !== "number" || !Number.isSafeInteger(d)) {
      throw new InvalidMazeDimsError(mazeDims, `${String(d)} is not an integer`);
    }
    if (d % 2 !== 0) throw new InvalidMazeDimsError(mazeDims, `${d} is odd`);
    if (d < 6) throw new InvalidMazeDimsError(mazeDims, `${d} is below 6 (fewer than 3 hallways)`);
    if (d > 4096) throw new InvalidMazeDimsError(mazeDims, `${d} is above 4096`);
  }
  return [mazeDims[0] as number, mazeDims[1] as number];
}

/**
 * Hunt-and-Kill with random hunt order, mazelib's way: open a random hallway cell, random-walk from
 * it carving into still-walled neighbours two cells away, then draw `(h+1)*(w+1)` random hunt cells
 * and walk from each one that is already open. Writes 0/1 into `grid` (length (h+1)*(w+1)).
 * A hallway cell can in principle stay walled (the stopping rule is a fixed hunt count).
 */
export function huntAndKill(grid: Uint8Array, h: number, w: number, random: MazeRandom): void {
  const rows = h + 1;
  const cols = w + 1;
  grid.fill(Cell.Wall, 0, rows * cols);
  const hallRows = h / 2;
  const hallCols = w / 2;
  const hallways = hallRows * hallCols;
  let r = 1 + 2 * random.below(hallRows);
  let c = 1 + 2 * random.below(hallCols);
  grid[r * cols + c] = Cell.Free;
  let open = 1;
  const hunts = rows * cols;
  for (let hunt = 0; ; hunt++) {
    if (grid[r * cols + c] === Cell.Free) open += walk(grid, rows, cols, r, c, random);
    if (hunt >= hunts) break;
    // Once every hallway is open no walk can carve anything; only the reference replay needs the
    // remaining draws (they shift the entrance draws).
    if (open === hallways && !random.drawsEveryHunt) break;
    r = 1 + 2 * random.below(hallRows);
    c = 1 + 2 * random.below(hallCols);
  }
}

// Neighbour offsets two cells away, in mazelib's order: up, down, left, right.
const candR = new Int32Array(4);
const candC = new Int32Array(4);

function walk(
  grid: Uint8Array,
  rows: number,
  cols: number,
  r0: number,
  c0: number,
  random: MazeRandom,
): number {
  let r = r0;
  let c = c0;
  let carved = 0;
  for (;;) {
    let n = 0;
    if (r > 1 && grid[(r - 2) * cols + c] === Cell.Wall) {
      candR[n] = r - 2;
      candC[n++] = c;
    }
    if (r < rows - 2 && grid[(r + 2) * cols + c] === Cell.Wall) {
      candR[n] = r + 2;
      candC[n++] = c;
    }
    if (c > 1 && grid[r * cols + c - 2] === Cell.Wall) {
      candR[n] = r;
      candC[n++] = c - 2;
    }
    if (c < cols - 2 && grid[r * cols + c + 2] === Cell.Wall) {
      candR[n] = r;
      candC[n++] = c + 2;
    }
    if (n === 0) return carved;
    const k = random.chooseNeighbour(n);
    const nr = candR[k] as number;
    const nc = candC[k] as number;
    grid[nr * cols + nc] = Cell.Free;
    grid[((nr + r) >> 1) * cols + ((nc + c) >> 1)] = Cell.Free;
    r = nr;
    c = nc;
    carved++;
  }
}

/** Entrance cells, mazelib's `generate_entrances(start_outer=True)`: start side uniform, end on the opposite side. */
export interface Entrances {
  startRow: number;
  startCol: number;
  /** -1 when an explore maze was injected without an end. */
  endRow: number;
  endCol: number;
}

/**
 * Draws the entrances into `out`: side (north, south, west, east), then the start's free
 * coordinate, then the end's, each an odd index. mazelib's redraw for adjacent entrances can
 * never trigger for h, w >= 6, so it is not needed.
 */
export function drawEntrances(h: number, w: number, random: MazeRandom, out: Entrances): Entrances {
  const side = random.below(4);
  if (side === 0 || side === 1) {
    const a = 1 + 2 * random.below(w / 2);
    const b = 1 + 2 * random.below(w / 2);
    out.startRow = side === 0 ? 0 : h;
    out.endRow = side === 0 ? h : 0;
    out.startCol = a;
    out.endCol = b;
  } else {
    const a = 1 + 2 * random.below(h / 2);
    const b = 1 + 2 * random.below(h / 2);
    out.startCol = side === 2 ? 0 : w;
    out.endCol = side === 2 ? w : 0;
    out.startRow = a;
    out.endRow = b;
  }
  return out;
}

/** Generates a maze (raw 0/1 grid, entrances still wall) as a standalone object. */
export function generateMaze(mazeDims: readonly [number, number], random: MazeRandom): Maze {
  const [h, w] = validateMazeDims(mazeDims);
  const grid = new Uint8Array((h + 1) * (w + 1));
  huntAndKill(grid, h, w, random);
  const e = drawEntrances(h, w, random, { startRow: 0, startCol: 0, endRow: 0, endCol: 0 });
  return { rows: h + 1, cols: w + 1, grid, start: [e.startRow, e.startCol], end: [e.endRow, e.endCol] };
}

function isCoord(x: unknown): x is readonly [number, number] {
  return (
    (Array.isArray(x) || ArrayBuffer.isView(x)) &&
    (x as ArrayLike<unknown>).length === 2 &&
    Number.isSafeInteger((x as ArrayLike<unknown>)[0]) &&
    Number.isSafeInteger((x as ArrayLike<unknown>)[1])
  );
}

/**
 * Validates an injected maze against the env's dims and copies it into `grid` (row-major) and
 * `out`. Codes must be 0..3; code 2 may only sit on the start, code 3 only on the end; the start
 * may not be a wall and the two entrances must differ.
 */
export function readInjectedMaze(
  maze: unknown,
  rows: number,
  cols: number,
  grid: Uint8Array,
  out: Entrances,
  endRequired = true,
): void {
  if (typeof maze !== "object" || maze === null) {
    throw new InvalidMazeError(`expected {grid, start, end}, got ${String(maze)}`);
  }
  const m = maze as { grid?: unknown; start?: unknown; end?: unknown };
  const g = m.grid;
  if (!Array.isArray(g) && !ArrayBuffer.isView(g)) {
    throw new InvalidMazeError("grid must be an array of rows or a row-major array of codes");
  }
  const gl = g as ArrayLike<unknown>;
  const nested = gl.length > 0 && (Array.isArray(gl[0]) || ArrayBuffer.isView(gl[0]));
  if (nested) {
    if (gl.length !== rows) {
      throw new InvalidMazeError(`grid has ${gl.length} rows, the env's mazeDims need ${rows} x ${cols}`);
    }
    for (let i = 0; i < rows; i++) {
      const row = gl[i] as ArrayLike<unknown>;
      if ((!Array.isArray(row) && !ArrayBuffer.isView(row)) || row.length !== cols) {
        throw new InvalidMazeError(
          `grid row ${i} has ${(row as ArrayLike<unknown> | undefined)?.length ?? "no"} cells, the env's mazeDims need ${rows} x ${cols}`,
        );
      }
      for (let j = 0; j < cols; j++) grid[i * cols + j] = readCode(row[j], i, j);
    }
  } else {
    if (gl.length !== rows * cols) {
      throw new InvalidMazeError(
        `flat grid has ${gl.length} cells, the env's mazeDims need ${rows} x ${cols}`,
      );
    }
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) grid[i * cols + j] = readCode(gl[i * cols + j], i, j);
    }
  }
  const { start } = m;
  if (!isCoord(start)) throw new InvalidMazeError(`start must be [row, col], got ${JSON.stringify(start)}`);
  // Explore never uses its end cell, so a maze for it may leave `end` out.
  const end = m.end;
  if (end === undefined && endRequired) throw new InvalidMazeError("escape needs an end [row, col]");
  if (end !== undefined && !isCoord(end)) {
    throw new InvalidMazeError(`end must be [row, col], got ${JSON.stringify(end)}`);
  }
  for (const [name, p] of [
    ["start", start],
    ["end", end],
  ] as const) {
    if (p !== undefined && (p[0] < 0 || p[0] >= rows || p[1] < 0 || p[1] >= cols)) {
      throw new InvalidMazeError(`${name} [${p[0]}, ${p[1]}] lies outside the ${rows} x ${cols} grid`);
    }
  }
  if (end !== undefined && start[0] === end[0] && start[1] === end[1]) {
    throw new InvalidMazeError(`start and end are the same cell [${start[0]}, ${start[1]}]`);
  }
  const si = start[0] * cols + start[1];
  const ei = end === undefined ? -1 : end[0] * cols + end[1];
  if (grid[si] === Cell.Wall || grid[si] === Cell.Goal) {
    throw new InvalidMazeError(
      `start [${start[0]}, ${start[1]}] is inside a ${grid[si] === Cell.Wall ? "wall" : "goal"} (code ${grid[si]})`,
    );
  }
  for (let i = 0; i < rows * cols; i++) {
    const v = grid[i];
    if (v === Cell.Start && i !== si) {
      throw new InvalidMazeError(
        `code 2 (start) at [${Math.floor(i / cols)}, ${i % cols}] is not the start [${start[0]}, ${start[1]}]`,
      );
    }
    if (v === Cell.Goal && i !== ei) {
      throw new InvalidMazeError(
        `code 3 (goal) at [${Math.floor(i / cols)}, ${i % cols}] is not the end ${end === undefined ? "(none given)" : `[${end[0]}, ${end[1]}]`}`,
      );
    }
  }
  out.startRow = start[0];
  out.startCol = start[1];
  out.endRow = end === undefined ? -1 : end[0];
  out.endCol = end === undefined ? -1 : end[1];
}

function readCode(v: unknown, i: number, j: number): number {
  if (v !== 0 && v !== 1 && v !== 2 && v !== 3) {
    throw new InvalidMazeError(`cell [${i}, ${j}] holds ${JSON.stringify(v)}; codes must be 0, 1, 2 or 3`);
  }
  return v;
}
