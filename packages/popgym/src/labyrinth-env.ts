import {
  Discrete,
  Env,
  type EnvCoreState,
  type EnvMetadata,
  type Info,
  MultiDiscrete,
  type ResetArgs,
  type StepResult,
} from "@sgprop/gym";
import { Action, type LabyrinthKind, NUM_ACTIONS, NUM_CELL_CODES } from "./cells.js";
import { type LabyrinthOptions, LabyrinthState, type LabyrinthStateSnapshot } from "./labyrinth-state.js";
import type { InjectedMaze } from "./maze.js";
import type { ReferenceRandomState } from "./maze-random.js";
import { MazeSource, validateGenerator } from "./maze-source.js";
import { renderAnsi, renderSvg, type SvgRenderOptions } from "./render.js";
import type { MazeGenerator } from "./vector.js";

export type LabyrinthRenderMode = "ansi" | "svg";

export interface LabyrinthEnvOptions extends LabyrinthOptions {
  /**
   * Maze source for generated mazes: "default" draws from the env's `Rng` (seeded by
   * `reset({seed})`); "reference" replays CPython's and numpy's Mersenne Twisters so that a seed
   * gives exactly the maze POPGym gives (seeds must then be below 2^32).
   */
  generator?: MazeGenerator;
  /** What `render()` returns: "ansi" (POPGym's text view) or "svg" (an image). */
  renderMode?: LabyrinthRenderMode;
}

export type LabyrinthResetOptions = {
  /** Play this maze instead of generating one (the golden files' grid/start/end can be passed as they are). */
  maze?: InjectedMaze;
};

/** Reset info; `maze` is numpy's text rendering of the grid, as POPGym returns it. */
export interface LabyrinthResetInfo extends Info {
  readonly maze: string;
}

/** Step info: the agent's position as [x, y] = [col, row], like POPGym. */
export interface LabyrinthStepInfo extends Info {
  readonly position: [number, number];
}

/** A labyrinth env's checkpoint (see `Env.getState`): plain data, safe to structuredClone. */
export interface LabyrinthEnvState {
  readonly core: EnvCoreState;
  readonly episode: LabyrinthStateSnapshot;
  /** The "reference" generator's Mersenne Twisters (null for "default" or before the first maze). */
  readonly reference: ReferenceRandomState | null;
}

const DIGITS = ["0", "1", "2", "3", "4"];

/** numpy's `str(grid)` for a grid of one-digit codes, e.g. "[[1 1 1]\n [1 0 1]\n [1 1 1]]". */
export function numpyGridText(s: LabyrinthState): string {
  const g = s.grid;
  let out = "[[";
  for (let r = 0; r < s.rows; r++) {
    if (r > 0) out += "]\n [";
    const base = r * s.cols;
    for (let c = 0; c < s.cols; c++) {
      if (c > 0) out += " ";
      out += DIGITS[g[base + c] as number];
    }
  }
  return `${out}]]`;
}

/**
 * What every labyrinth env shares: the episode state, where mazes come from, the action space
 * Discrete(4) (0 left, 1 right, 2 up, 3 down) and rendering. Subclasses choose the observation:
 * POPGym's own ({@link LabyrinthEnv}) or the paper's wrapped vector (`PaperLabyrinthEnv`).
 */
export abstract class LabyrinthEnvCore<Obs> extends Env<Obs, number> {
  readonly actionSpace = new Discrete(NUM_ACTIONS);
  override metadata: EnvMetadata = { renderModes: ["ansi", "svg"] };
  /** The episode state on typed arrays (grid, explored cells, position, counters). */
  readonly state: LabyrinthState;
  private readonly source: MazeSource;

  protected constructor(kind: LabyrinthKind, opts: LabyrinthEnvOptions) {
    super();
    this.state = new LabyrinthState(kind, opts);
    this.source = new MazeSource(validateGenerator(opts.generator ?? "default"));
    const mode = opts.renderMode;
    if (mode !== undefined && mode !== "ansi" && mode !== "svg") {
      throw new RangeError(`renderMode must be "ansi" or "svg", got ${JSON.stringify(mode)}`);
    }
    this.renderMode = mode;
  }

  get generator(): MazeGenerator {
    return this.source.generator;
  }

  get mazeDims(): [number, number] {
    return [this.state.h, this.state.w];
  }

  get episodeLength(): number {
    return this.state.episodeLength;
  }

  /** Starts an episode in `state` (given maze, or one generated from the seed); returns the reset info. */
  protected startEpisode(args: ResetArgs<LabyrinthResetOptions> | undefined): LabyrinthResetInfo {
    super.reset(args);
    this.source.reset(this.state, () => this.rng, args?.seed, args?.options?.maze);
    return { maze: numpyGridText(this.state) };
  }

  /**
   * A checkpoint of the episode (maze, position, counters) and of every generator, so that
   * `setState` on this env or on a fresh one with the same options continues exactly, resets
   * without a seed included.
   */
  override getState(): LabyrinthEnvState {
    return { core: this.coreState(), episode: this.state.snapshot(), reference: this.source.getState() };
  }

  /** Restores a checkpoint from {@link getState}; throws RangeError for another kind or maze size. */
  override setState(state: LabyrinthEnvState): void {
    this.state.restore(state.episode);
    this.source.setState(state.reference);
    this.restoreCoreState(state.core);
  }

  /** "ansi": POPGym's text view; "svg": an SVG picture; undefined without a render mode. */
  override render(): string | undefined {
    if (this.renderMode === "ansi") return renderAnsi(this.state);
    if (this.renderMode === "svg") return renderSvg(this.state);
    return undefined;
  }

  /** The maze as text, whatever the render mode. */
  renderAnsi(): string {
    return renderAnsi(this.state);
  }

  /** The maze as an SVG image, whatever the render mode. */
  renderSvg(opts?: SvgRenderOptions): string {
    return renderSvg(this.state, opts);
  }
}

/**
 * POPGym's maze env: observation MultiDiscrete([5]*10) (3x3 window codes, then the action just
 * taken, 4 at reset), action Discrete(4) (0 left, 1 right, 2 up, 3 down). As everywhere in
 * @sgprop/gym, stepping after the episode ended throws ResetNeededError (POPGym itself would go on).
 */
export abstract class LabyrinthEnv extends LabyrinthEnvCore<Int32Array> {
  readonly observationSpace = new MultiDiscrete(new Array<number>(10).fill(NUM_CELL_CODES));

  protected constructor(kind: LabyrinthKind, opts: LabyrinthEnvOptions = {}) {
    super(kind, opts);
  }

  override reset(args?: ResetArgs<LabyrinthResetOptions>): [Int32Array, LabyrinthResetInfo] {
    const info = this.startEpisode(args);
    return [this.observe(Action.None), info];
  }

  step(action: number): StepResult<Int32Array> {
    const s = this.state;
    s.step(action);
    const info: LabyrinthStepInfo = { position: [s.col, s.row] };
    return [this.observe(action), s.reward, s.terminated, s.truncated, info];
  }

  private observe(action: number): Int32Array {
    const obs = new Int32Array(10);
    obs.set(this.state.window);
    obs[9] = action;
    return obs;
  }
}

/** POPGym's LabyrinthEscape: -1/L per step, +1 and termination on entering the goal. */
export class LabyrinthEscape extends LabyrinthEnv {
  constructor(opts: LabyrinthEnvOptions = {}) {
    super("escape", opts);
  }
}

/** POPGym's LabyrinthExplore: 1/(free cells) for each new cell, else -1/L; terminates when all are visited. */
export class LabyrinthExplore extends LabyrinthEnv {
  constructor(opts: LabyrinthEnvOptions = {}) {
    super("explore", opts);
  }
}
