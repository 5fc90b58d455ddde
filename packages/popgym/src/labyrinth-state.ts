import { Cell, type LabyrinthKind } from "./cells.js";
import { InvalidEpisodeLengthError, InvalidMazeError } from "./errors.js";
import { drawEntrances, type Entrances, huntAndKill, readInjectedMaze, validateMazeDims } from "./maze.js";
import type { MazeRandom } from "./maze-random.js";

/** Constructor options shared by every labyrinth flavour. */
export interface LabyrinthOptions {
  /** Maze size (h, w) in POPGym's units: both even, >= 6; the grid is (h+1) x (w+1). */
  mazeDims?: readonly [number, number];
  /** POPGym's `episode_length`: truncation happens on step `episodeLength - 1`. */
  episodeLength?: number;
}

export function validateEpisodeLength(n: unknown): number {
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1) throw new InvalidEpisodeLengthError(n);
  return n;
}

/** A copy of everything a {@link LabyrinthState} holds, for checkpoints (plain data). */
export interface LabyrinthStateSnapshot {
  readonly kind: LabyrinthKind;
  readonly h: number;
  readonly w: number;
  readonly episodeLength: number;
  readonly grid: Uint8Array;
  readonly explored: Uint8Array;
  readonly window: Uint8Array;
  readonly entrances: Entrances;
  readonly row: number;
  readonly col: number;
  readonly stepCount: number;
  readonly exploredCount: number;
  readonly nonWallCount: number;
  readonly posRewardScale: number;
  readonly ready: boolean;
  readonly reward: number;
  readonly terminated: boolean;
  readonly truncated: boolean;
}

/**
 * The whole state of one labyrinth episode on typed arrays, with POPGym's stepping rules. Both
 * the Gymnasium-style envs and the batched vector env drive this class, so they cannot drift apart.
 */
export class LabyrinthState {
  readonly kind: LabyrinthKind;
  readonly h: number;
  readonly w: number;
  readonly rows: number;
  readonly cols: number;
  readonly episodeLength: number;
  /** `-1 / episodeLength`, the per-step penalty. */
  readonly negRewardScale: number;
  /** Explore only: `1 / (number of code-0 cells after reset)`; NaN for escape. */
  posRewardScale = Number.NaN;
  readonly grid: Uint8Array;
  readonly explored: Uint8Array;
  /** The 3x3 view around the agent, row-major, with POPGym's padding and clipping quirks. */
  readonly window = new Uint8Array(9);
  readonly entrances: Entrances = { startRow: 0, startCol: 0, endRow: 0, endCol: 0 };
  private scratchGrid: Uint8Array | undefined;
  private readonly scratchEntrances: Entrances = { startRow: 0, startCol: 0, endRow: 0, endCol: 0 };
  row = 0;
  col = 0;
  stepCount = 0;
  exploredCount = 0;
  nonWallCount = 0;
  /** True once reset has run. */
  ready = false;
  /** Outcome of the last step. */
  reward = 0;
  terminated = false;
  truncated = false;

  constructor(kind: LabyrinthKind, opts: LabyrinthOptions = {}) {
    if (kind !== "escape" && kind !== "explore") {
      throw new RangeError(`kind must be "escape" or "explore", got ${JSON.stringify(kind)}`);
    }
    this.kind = kind;
    const [h, w] = validateMazeDims(opts.mazeDims ?? [10, 10]);
    this.h = h;
    this.w = w;
    this.rows = h + 1;
    this.cols = w + 1;
    this.episodeLength = validateEpisodeLength(opts.episodeLength ?? 1024);
    this.negRewardScale = -1 / this.episodeLength;
    this.grid = new Uint8Array(this.rows * this.cols);
    this.explored = new Uint8Array(this.rows * this.cols);
  }

  /** Generates a fresh maze from `random` and starts an episode in it. */
  resetGenerated(random: MazeRandom): void {
    huntAndKill(this.grid, this.h, this.w, random);
    drawEntrances(this.h, this.w, random, this.entrances);
    this.begin();
  }

  /** Starts an episode in a given maze (validated; throws InvalidMazeError). */
  resetInjected(maze: unknown): void {
    // Validate into scratch space so that a rejected maze leaves the running episode untouched.
    this.scratchGrid ??= new Uint8Array(this.grid.length);
    const scratch = this.scratchGrid;
    const e0 = this.scratchEntrances;
    readInjectedMaze(maze, this.rows, this.cols, scratch, e0, this.kind === "escape");
    if (this.kind === "explore") {
      const si = e0.startRow * this.cols + e0.startCol;
      let free = 0;
      for (let i = 0; i < scratch.length; i++) if (scratch[i] === Cell.Free && i !== si) free++;
      if (free === 0) throw new InvalidMazeError("explore needs at least one free (code 0) cell");
    }
    this.grid.set(scratch);
    Object.assign(this.entrances, e0);
    const e = this.entrances;
    // The reference never marks the goal in explore: its end cell stays as mazelib left it (wall).
    const ei = e.endRow * this.cols + e.endCol;
    if (this.kind === "explore" && e.endRow >= 0 && this.grid[ei] === Cell.Goal) this.grid[ei] = Cell.Wall;
    this.begin();
  }

  private begin(): void {
    const { grid, explored, entrances: e, cols } = this;
    const si = e.startRow * cols + e.startCol;
    grid[si] = Cell.Start;
    if (this.kind === "escape") grid[e.endRow * cols + e.endCol] = Cell.Goal;
    explored.fill(0);
    explored[si] = 1;
    this.exploredCount = 1;
    let free = 0;
    let nonWall = 0;
    for (let i = 0; i < grid.length; i++) {
      const v = grid[i];
      if (v !== Cell.Wall) nonWall++;
      if (v === Cell.Free) free++;
    }
    this.nonWallCount = nonWall;
    this.posRewardScale = this.kind === "explore" ? 1 / free : Number.NaN;
    this.row = e.startRow;
    this.col = e.startCol;
    this.stepCount = 0;
    this.reward = 0;
    this.terminated = false;
    this.truncated = false;
    this.ready = true;
    this.updateWindow();
  }

  /** One POPGym step with an action already known to be 0..3. */
  step(action: number): void {
    let r = this.row;
    let c = this.col;
    if (action === 0) c--;
    else if (action === 1) c++;
    else if (action === 2) r--;
    else r++;
    // Clamp into the grid, then a wall target means staying put.
    if (r < 0) r = 0;
    else if (r > this.h) r = this.h;
    if (c < 0) c = 0;
    else if (c > this.w) c = this.w;
    let idx = r * this.cols + c;
    if (this.grid[idx] === Cell.Wall) {
      r = this.row;
      c = this.col;
      idx = r * this.cols + c;
    }
    const isNew = this.explored[idx] === 0;
    if (isNew) {
      this.explored[idx] = 1;
      this.exploredCount++;
    }
    this.row = r;
    this.col = c;
    this.stepCount++;
    if (this.kind === "escape") {
      if (this.grid[idx] === Cell.Goal) {
        this.reward = this.negRewardScale + 1.0;
        this.terminated = true;
      } else {
        this.reward = this.negRewardScale;
        this.terminated = false;
      }
    } else {
      this.reward = isNew ? this.posRewardScale : this.negRewardScale;
      this.terminated = this.exploredCount === this.nonWallCount;
    }
    this.truncated = this.stepCount === this.episodeLength - 1;
    this.updateWindow();
  }

  /**
   * POPGym's `local_view`: rows max(r-1,0)..min(r+1, cols), columns max(c-1,0)..min(c+1, rows)
   * (the clip bounds are swapped in the reference), clipped by the array, then padded with walls
   * only after the block. On row or column 0 the window therefore starts at the agent.
   */
  updateWindow(): void {
    const { grid, window, rows, cols } = this;
    const r = this.row;
    const c = this.col;
    const r0 = r > 0 ? r - 1 : 0;
    const c0 = c > 0 ? c - 1 : 0;
    const r1 = Math.min(Math.min(r + 1, cols) + 1, rows);
    const c1 = Math.min(Math.min(c + 1, rows) + 1, cols);
    if (r1 - r0 === 3 && c1 - c0 === 3) {
      let k = 0;
      for (let i = r0; i < r1; i++) {
        const base = i * cols;
        window[k++] = grid[base + c0] as number;
        window[k++] = grid[base + c0 + 1] as number;
        window[k++] = grid[base + c0 + 2] as number;
      }
      return;
    }
    window.fill(Cell.Wall);
    for (let i = r0; i < r1; i++) {
      for (let j = c0; j < c1; j++) window[(i - r0) * 3 + (j - c0)] = grid[i * cols + j] as number;
    }
  }

  /** A copy of the whole episode state (see {@link restore}). */
  snapshot(): LabyrinthStateSnapshot {
    return {
      kind: this.kind,
      h: this.h,
      w: this.w,
      episodeLength: this.episodeLength,
      grid: this.grid.slice(),
      explored: this.explored.slice(),
      window: this.window.slice(),
      entrances: { ...this.entrances },
      row: this.row,
      col: this.col,
      stepCount: this.stepCount,
      exploredCount: this.exploredCount,
      nonWallCount: this.nonWallCount,
      posRewardScale: this.posRewardScale,
      ready: this.ready,
      reward: this.reward,
      terminated: this.terminated,
      truncated: this.truncated,
    };
  }

  /** Restores a snapshot taken from a state of the same kind, maze size and episode length. */
  restore(s: LabyrinthStateSnapshot): void {
    if (s.kind !== this.kind || s.h !== this.h || s.w !== this.w || s.episodeLength !== this.episodeLength) {
      throw new RangeError(
        `cannot restore a ${s.kind} ${s.h}x${s.w} (episode ${s.episodeLength}) snapshot into a ${this.kind} ` +
          `${this.h}x${this.w} (episode ${this.episodeLength}) labyrinth`,
      );
    }
    this.grid.set(s.grid);
    this.explored.set(s.explored);
    this.window.set(s.window);
    Object.assign(this.entrances, s.entrances);
    this.row = s.row;
    this.col = s.col;
    this.stepCount = s.stepCount;
    this.exploredCount = s.exploredCount;
    this.nonWallCount = s.nonWallCount;
    this.posRewardScale = s.posRewardScale;
    this.ready = s.ready;
    this.reward = s.reward;
    this.terminated = s.terminated;
    this.truncated = s.truncated;
  }

  /** Agent position as POPGym reports it in `info.position`: [x, y] = [col, row]. */
  get position(): [number, number] {
    return [this.col, this.row];
  }
}
