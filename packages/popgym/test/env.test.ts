import { ActionOutOfSpaceError, ResetNeededError, Rng } from "@sgprop/gym";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  Cell,
  InvalidEpisodeLengthError,
  InvalidMazeDimsError,
  InvalidMazeError,
  type LabyrinthEnv,
  LabyrinthEscape,
  LabyrinthExplore,
  type LabyrinthState,
  type LabyrinthStepInfo,
  makePaperLabyrinth,
} from "../src/index.js";
import { goldenEpisodes, reachable } from "./helpers.js";

const evenDim = fc.integer({ min: 3, max: 10 }).map((x) => 2 * x);

/** First move of a shortest path from (r, c) to the nearest cell satisfying `isTarget`, or -1. */
function bfsMove(env: LabyrinthEnv, isTarget: (i: number) => boolean): number {
  const { grid, rows, cols, row, col } = env.state;
  const start = row * cols + col;
  const firstMove = new Int32Array(rows * cols).fill(-1);
  const seen = new Uint8Array(rows * cols);
  seen[start] = 1;
  const queue = [start];
  for (let q = 0; q < queue.length; q++) {
    const i = queue[q]!;
    if (i !== start && isTarget(i)) return firstMove[i]!;
    const r = Math.floor(i / cols);
    const c = i % cols;
    const moves: [number, number, number][] = [
      [0, r, c - 1],
      [1, r, c + 1],
      [2, r - 1, c],
      [3, r + 1, c],
    ];
    for (const [a, nr, nc] of moves) {
      if (nr < 0 || nr >= rows || nc < 0 || nc >= cols) continue;
      const j = nr * cols + nc;
      if (seen[j] || grid[j] === Cell.Wall) continue;
      seen[j] = 1;
      firstMove[j] = i === start ? a : firstMove[i]!;
      queue.push(j);
    }
  }
  return -1;
}

interface Trajectory {
  obs: number[][];
  rewards: number[];
  flags: [boolean, boolean][];
  positions: [number, number][];
}

/**
 * Plays one episode with a mixed policy (mostly heading for the goal / the nearest unvisited cell,
 * so that terminations happen, otherwise random) and checks every documented invariant on the way.
 */
function playAndCheck(env: LabyrinthEnv, seed: number, policySeed: number): Trajectory {
  const rng = Rng.fromSeed(policySeed);
  const [obs0] = env.reset({ seed });
  const s = env.state;
  const L = s.episodeLength;
  const { rows, cols } = s;
  const grid = Array.from(s.grid);
  const nonWall = grid.filter((v) => v !== Cell.Wall).length;
  const free = grid.filter((v) => v === Cell.Free).length;
  const visited = new Set([s.row * cols + s.col]);
  // The grid after reset: wall border except the entrances, every non-wall cell reachable from the start.
  const { startRow, startCol, endRow, endCol } = s.entrances;
  const startIdx = startRow * cols + startCol;
  const endIdx = endRow * cols + endCol;
  expect(grid[startIdx]).toBe(Cell.Start);
  expect(grid[endIdx]).toBe(env instanceof LabyrinthEscape ? Cell.Goal : Cell.Wall);
  for (let i = 0; i < grid.length; i++) {
    const r = Math.floor(i / cols);
    const c = i % cols;
    const border = r === 0 || c === 0 || r === rows - 1 || c === cols - 1;
    if (border && i !== startIdx && i !== endIdx) expect(grid[i]).toBe(Cell.Wall);
  }
  expect(reachable(grid, rows, cols, startIdx).size).toBe(nonWall);
  const side = (r: number, c: number) => (r === 0 ? "N" : r === rows - 1 ? "S" : c === 0 ? "W" : "E");
  expect(`${side(startRow, startCol)}${side(endRow, endCol)}`).toMatch(/^(NS|SN|WE|EW)$/);
  const traj: Trajectory = { obs: [[...obs0]], rewards: [], flags: [], positions: [] };
  expect(env.observationSpace.contains(obs0)).toBe(true);
  expect(obs0[9]).toBe(4);
  for (let t = 1; ; t++) {
    const goal = env instanceof LabyrinthEscape;
    let a =
      rng.float() < 0.6 ? bfsMove(env, goal ? (i) => grid[i] === Cell.Goal : (i) => !visited.has(i)) : -1;
    if (a < 0) a = rng.integer(0, 3);
    const [obs, reward, terminated, truncated, info] = env.step(a);
    const [x, y] = (info as LabyrinthStepInfo).position;
    const here = y * cols + x;
    expect(x >= 0 && x < cols && y >= 0 && y < rows).toBe(true);
    expect(grid[here]).not.toBe(Cell.Wall);
    expect(env.observationSpace.contains(obs)).toBe(true);
    expect(obs[9]).toBe(a);
    expect(truncated).toBe(t === L - 1);
    const isNew = !visited.has(here);
    visited.add(here);
    if (goal) {
      expect(terminated).toBe(grid[here] === Cell.Goal);
      expect(reward).toBe(terminated ? 1 - 1 / L : -1 / L);
    } else {
      expect(terminated).toBe(visited.size === nonWall);
      expect(reward).toBe(isNew ? 1 / free : -1 / L);
    }
    traj.obs.push([...obs]);
    traj.rewards.push(reward);
    traj.flags.push([terminated, truncated]);
    traj.positions.push([x, y]);
    if (terminated || truncated) {
      expect(t).toBeLessThanOrEqual(L - 1);
      return traj;
    }
    expect(t).toBeLessThan(L - 1);
  }
}

describe.each([
  ["escape", LabyrinthEscape],
  ["explore", LabyrinthExplore],
] as const)("Labyrinth%s properties", (_, Ctor) => {
  it("well-formed grid, agent never on a wall, observations in the space, documented rewards, termination and truncation (200 runs)", () => {
    let terminations = 0;
    fc.assert(
      fc.property(
        evenDim,
        evenDim,
        fc.integer({ min: 2, max: 300 }),
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        fc.nat(),
        (h, w, L, seed, policySeed) => {
          const traj = playAndCheck(new Ctor({ mazeDims: [h, w], episodeLength: L }), seed, policySeed);
          if (traj.flags.at(-1)?.[0]) terminations++;
        },
      ),
      { numRuns: 200 },
    );
    expect(terminations).toBeGreaterThan(20); // the policy does reach the end of episodes
  });
});

describe("reference semantics in detail", () => {
  it("uses the same maze for escape and explore, with the end cell left as wall in explore", () => {
    const esc = new LabyrinthEscape({ mazeDims: [8, 12] });
    const exp = new LabyrinthExplore({ mazeDims: [8, 12] });
    esc.reset({ seed: 77 });
    exp.reset({ seed: 77 });
    const { endRow, endCol } = esc.state.entrances;
    const ei = endRow * esc.state.cols + endCol;
    expect(esc.state.grid[ei]).toBe(Cell.Goal);
    expect(exp.state.grid[ei]).toBe(Cell.Wall);
    const diff = [...esc.state.grid].filter((v, i) => v !== exp.state.grid[i]);
    expect(diff).toEqual([Cell.Goal]);
  });

  it("truncates exactly on step L-1, and an episodeLength of 1 never truncates", () => {
    const env = new LabyrinthEscape({ mazeDims: [6, 6], episodeLength: 5 });
    const ep = goldenEpisodes("escape")[1]!; // the agent starts in a dead end: moving outward is a no-op
    env.reset({ options: { maze: ep } });
    const flags = [1, 1, 1, 1].map(() => env.step(1)[3]);
    expect(flags).toEqual([false, false, false, true]);
    expect(() => env.step(1)).toThrow(ResetNeededError);
    const one = new LabyrinthEscape({ mazeDims: [6, 6], episodeLength: 1 });
    one.reset({ options: { maze: ep } });
    for (let t = 0; t < 20; t++) expect(one.step(1)[3]).toBe(false);
  });

  it("reproduces the swapped clip axes on non-square mazes (LABYRINTH.md: 6x10 columns 7..10)", () => {
    // 7 x 11 grid with an open corridor along row 1.
    const grid: number[][] = Array.from({ length: 7 }, (_, r) =>
      Array.from({ length: 11 }, (_, c) => (r === 1 && c >= 1 && c <= 9 ? 0 : 1)),
    );
    grid[1]![0] = 2;
    const env = new LabyrinthEscape({ mazeDims: [6, 10], episodeLength: 100 });
    env.reset({ options: { maze: { grid, start: [1, 0], end: [5, 10] } } });
    const windows: number[][] = [];
    for (let c = 1; c <= 9; c++) windows.push([...env.step(1)[0].subarray(0, 9)]);
    // Columns 1..6: a normal centred window (wall, corridor, wall rows).
    expect(windows[3]).toEqual([1, 1, 1, 0, 0, 0, 1, 1, 1]);
    // Column 7: the block ends at column 7 (clipped by the 7 rows), column 8 becomes padding.
    expect(windows[6]).toEqual([1, 1, 1, 0, 0, 1, 1, 1, 1]);
    // Column 8: only column 7 survives. Column 9: nothing survives.
    expect(windows[7]).toEqual([1, 1, 1, 0, 1, 1, 1, 1, 1]);
    expect(windows[8]).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it("shifts the window on a north or west start (agent's own row/column first)", () => {
    const ep = goldenEpisodes("escape").find((e) => e.start[0] === 0)!;
    const env = new LabyrinthEscape({ mazeDims: [6, 6], episodeLength: 80 });
    const [obs] = env.reset({ options: { maze: ep } });
    const [r, c] = ep.start;
    // top row of the window = the agent's own row, columns c-1..c+1
    expect([...obs.subarray(0, 3)]).toEqual([ep.grid[r]![c - 1], 2, ep.grid[r]![c + 1]]);
    expect([...obs.subarray(6, 9)]).toEqual([1, 1, 1]);
  });

  it("explore pays 1/free for new cells only and ignores the unmarked end cell", () => {
    const ep = goldenEpisodes("explore").find((e) => e.policy === "dfs-explore")!;
    const env = new LabyrinthExplore({ mazeDims: [6, 6], episodeLength: 40 });
    env.reset({ options: { maze: ep } });
    expect(env.state.posRewardScale).toBe(1 / 17);
    let last: ReturnType<typeof env.step> | undefined;
    for (const st of ep.steps) last = env.step(st.action);
    expect(last?.[2]).toBe(true);
    expect(env.state.explored[ep.end[0] * 7 + ep.end[1]]).toBe(0);
  });

  it("reset info carries numpy's text rendering of the grid, step info the [x, y] position", () => {
    const ep = goldenEpisodes("escape")[0]!;
    const env = new LabyrinthEscape({ mazeDims: [6, 6], episodeLength: 80 });
    const [, info] = env.reset({ options: { maze: ep } });
    expect(info.maze.split("\n")[0]).toBe("[[1 1 1 1 1 1 1]");
    expect(info.maze.split("\n")[5]).toBe(" [3 0 0 0 0 0 2]");
    expect(info.maze.endsWith("]]")).toBe(true);
    expect(env.step(0)[4]).toEqual({ position: [5, 5] });
  });

  it("generator 'reference' gives POPGym's mazes for the golden seeds", () => {
    for (const ep of goldenEpisodes("explore")) {
      const env = new LabyrinthExplore({
        mazeDims: ep.mazeDims,
        episodeLength: ep.episodeLength,
        generator: "reference",
      });
      env.reset({ seed: ep.seed });
      expect([...env.state.grid]).toEqual(ep.grid.flat());
    }
  });
});

describe("bad input", () => {
  it.each([-1, 4, 1.5, Number.NaN, "2"])("step(%j) raises a RangeError and changes nothing", (bad) => {
    for (const env of [
      new LabyrinthEscape({ mazeDims: [6, 6] }),
      new LabyrinthExplore({ mazeDims: [6, 6] }),
      makePaperLabyrinth("escape"),
      makePaperLabyrinth("explore", { variant: "wrapper-stack" }),
    ]) {
      env.reset({ seed: 3 });
      expect(() => env.step(bad as number)).toThrow(RangeError);
      expect(() => env.step(bad as number)).toThrow(ActionOutOfSpaceError);
      expect(() => env.step(bad as number)).toThrow(String(bad));
      expect((env.unwrapped as unknown as { state: LabyrinthState }).state.stepCount).toBe(0);
    }
  });

  it.each([
    [[7, 6], /7 is odd/],
    [[6, 9], /9 is odd/],
    [[4, 4], /4 is below 6/],
    [[2, 6], /2 is below 6/],
    [[6.5, 6], /6.5 is not an integer/],
    [[Number.NaN, 6], /NaN is not an integer/],
  ])("mazeDims %j fail at construction with a clear message", (dims, message) => {
    expect(() => new LabyrinthEscape({ mazeDims: dims as [number, number] })).toThrow(InvalidMazeDimsError);
    expect(() => new LabyrinthExplore({ mazeDims: dims as [number, number] })).toThrow(message);
    expect(() => makePaperLabyrinth("escape", { mazeDims: dims as [number, number] })).toThrow(message);
  });

  it.each([0, -3, 2.5, Number.NaN])("episodeLength %j fails at construction", (L) => {
    expect(() => new LabyrinthEscape({ episodeLength: L })).toThrow(InvalidEpisodeLengthError);
  });

  it("rejects injected mazes of the wrong shape or with a start inside a wall, keeping the episode", () => {
    const ep = goldenEpisodes("escape")[0]!;
    const env = new LabyrinthEscape({ mazeDims: [6, 6], episodeLength: 80 });
    env.reset({ options: { maze: ep } });
    env.step(0);
    const gridBefore = env.state.grid.slice();
    const bad: [unknown, RegExp][] = [
      [{ ...ep, grid: ep.grid.slice(1) }, /6 rows, the env's mazeDims need 7 x 7/],
      [{ ...ep, grid: ep.grid.map((r) => r.slice(1)) }, /row 0 has 6 cells/],
      [{ ...ep, grid: ep.grid.flat().slice(3) }, /flat grid has 46 cells/],
      [{ ...ep, start: [0, 0] }, /start \[0, 0\] is inside a wall/],
      [{ ...ep, start: [9, 1] }, /outside the 7 x 7 grid/],
      [{ ...ep, start: [5] }, /start must be \[row, col\]/],
      [{ ...ep, end: ep.start }, /same cell/],
      [{ ...ep, grid: ep.grid.map((r) => r.map((v) => (v === 3 ? 7 : v))) }, /holds 7/],
      [{ grid: "maze" }, /array of rows/],
    ];
    for (const [maze, message] of bad) {
      expect(() => env.reset({ options: { maze } as never })).toThrow(InvalidMazeError);
      expect(() => env.reset({ options: { maze } as never })).toThrow(message);
    }
    expect(env.state.grid).toEqual(gridBefore);
    expect(() => env.step(1)).not.toThrow();
    const wrongDims = new LabyrinthEscape({ mazeDims: [10, 10] });
    expect(() => wrongDims.reset({ options: { maze: ep } })).toThrow(/need 11 x 11/);
  });

  it.each(["default", "reference"] as const)(
    "a rejected maze with a seed leaves the maze stream as it was (%s generator)",
    (generator) => {
      const ep = goldenEpisodes("escape")[0]!;
      const make = () => {
        const env = new LabyrinthEscape({ mazeDims: [6, 6], episodeLength: 80, generator });
        env.reset({ seed: 5 });
        return env;
      };
      const clean = make();
      const noisy = make();
      const bad = { grid: ep.grid.slice(1), start: ep.start, end: ep.end };
      expect(() => noisy.reset({ seed: 9, options: { maze: bad } })).toThrow(InvalidMazeError);
      // The next unseeded maze continues seed 5's stream, not seed 9's.
      expect([...noisy.reset()[0]]).toEqual([...clean.reset()[0]]);
      expect(noisy.state.grid).toEqual(clean.state.grid);
    },
  );

  it("needs an end for escape only", () => {
    const ep = goldenEpisodes("explore")[0]!;
    const { grid, start } = ep;
    const explore = new LabyrinthExplore({ mazeDims: [6, 6], episodeLength: 40 });
    const [withEnd] = explore.reset({ options: { maze: ep } });
    const [withoutEnd] = explore.reset({ options: { maze: { grid, start } } });
    expect([...withoutEnd]).toEqual([...withEnd]);
    expect(explore.state.posRewardScale).toBe(1 / 17);
    const escapeEnv = new LabyrinthEscape({ mazeDims: [6, 6], episodeLength: 80 });
    expect(() => escapeEnv.reset({ options: { maze: { grid, start } } })).toThrow(/escape needs an end/);
  });

  it("refuses to step before reset", () => {
    expect(() => new LabyrinthExplore().step(0)).toThrow(ResetNeededError);
  });
});

describe("equivalences", () => {
  it("the fused paper env equals the literal wrapper stack, resets included (200 runs)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("escape" as const, "explore" as const),
        fc.nat({ max: 2 ** 40 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 120 }),
        (kind, seed, actions) => {
          const fused = makePaperLabyrinth(kind);
          const stack = makePaperLabyrinth(kind, { variant: "wrapper-stack" });
          expect(fused.observationSpace.equals(stack.observationSpace)).toBe(true);
          let s = seed;
          const [a0] = fused.reset({ seed: s });
          const [b0] = stack.reset({ seed: s });
          expect([...a0]).toEqual([...b0]);
          for (const a of actions) {
            const x = fused.step(a);
            const y = stack.step(a);
            expect([...x[0]]).toEqual([...y[0]]);
            expect(x.slice(1)).toEqual(y.slice(1));
            if (x[2] || x[3]) {
              s++;
              expect([...fused.reset({ seed: s })[0]]).toEqual([...stack.reset({ seed: s })[0]]);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
