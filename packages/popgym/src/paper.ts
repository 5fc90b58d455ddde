import {
  type Box,
  Discrete,
  type Env,
  FlattenObservation,
  flattenSpace,
  MultiDiscrete,
  type ResetArgs,
  type StepResult,
  Tuple,
} from "@sgprop/gym";
import { type LabyrinthKind, NUM_ACTIONS, NUM_CELL_CODES, PAPER_OBS_DIM } from "./cells.js";
import {
  LabyrinthEnvCore,
  type LabyrinthEnvOptions,
  LabyrinthEscape,
  LabyrinthExplore,
  type LabyrinthRenderMode,
  type LabyrinthResetInfo,
  type LabyrinthResetOptions,
  type LabyrinthStepInfo,
} from "./labyrinth-env.js";
import { writePaperObservation } from "./paper-observation.js";
import { PAPER_EPISODE_LENGTH } from "./vector.js";
import { Antialias, PreviousAction } from "./wrappers.js";

/**
 * Hands out fresh Float32Array observations carved from shared ArrayBuffers. V8 gives every
 * typed array above 64 bytes its own off-heap backing store, which costs more than a whole
 * labyrinth step; views into a larger buffer avoid that. Regions are never reused, so observations
 * stay independent (a kept observation keeps its slab of `perSlab` observations alive).
 */
export class ObservationSlab {
  private buffer: ArrayBuffer;
  private offset: number;
  private readonly bytes: number;

  constructor(
    readonly length: number,
    readonly perSlab = 256,
  ) {
    this.bytes = length * Float32Array.BYTES_PER_ELEMENT;
    this.buffer = new ArrayBuffer(this.bytes * perSlab);
    this.offset = 0;
  }

  next(): Float32Array {
    if (this.offset === this.buffer.byteLength) {
      this.buffer = new ArrayBuffer(this.bytes * this.perSlab);
      this.offset = 0;
    }
    const out = new Float32Array(this.buffer, this.offset, this.length);
    this.offset += this.bytes;
    return out;
  }
}

/** The observation space of PreviousAction + Antialias + Flatten over a labyrinth: Box(0, 1, (56,)). */
export function paperObservationSpace(): Box<"float32"> {
  return flattenSpace(
    new Tuple([
      new MultiDiscrete(new Array<number>(10).fill(NUM_CELL_CODES)),
      new Discrete(NUM_ACTIONS),
      new Discrete(2),
    ]),
  );
}

/**
 * The paper's wrapped labyrinth as one env: the observation PreviousAction, Antialias and Flatten
 * would produce (56 values, LABYRINTH.md), written directly into a typed array instead of being
 * built up through three wrappers. Equal, step for step, to {@link makePaperLabyrinth}'s
 * "wrapper-stack" variant (tested).
 */
export class PaperLabyrinthEnv extends LabyrinthEnvCore<Float32Array> {
  readonly observationSpace = paperObservationSpace();
  private readonly slab = new ObservationSlab(PAPER_OBS_DIM);

  constructor(kind: LabyrinthKind, opts: LabyrinthEnvOptions = {}) {
    super(kind, {
      ...opts,
      mazeDims: opts.mazeDims ?? [6, 6],
      episodeLength: opts.episodeLength ?? PAPER_EPISODE_LENGTH[kind],
    });
  }

  override reset(args?: ResetArgs<LabyrinthResetOptions>): [Float32Array, LabyrinthResetInfo] {
    const info = this.startEpisode(args);
    const obs = this.slab.next();
    writePaperObservation(obs, 0, this.state.window, 4, 0, true);
    return [obs, info];
  }

  step(action: number): StepResult<Float32Array> {
    const s = this.state;
    s.step(action);
    const obs = this.slab.next();
    writePaperObservation(obs, 0, s.window, action, action, false);
    const info: LabyrinthStepInfo = { position: [s.col, s.row] };
    return [obs, s.reward, s.terminated, s.truncated, info];
  }
}

export interface PaperLabyrinthOptions extends LabyrinthEnvOptions {
  /**
   * "fused" (default): one env writing the wrapped observation directly (fast);
   * "wrapper-stack": the literal FlattenObservation(Antialias(PreviousAction(env))) of the paper.
   */
  variant?: "fused" | "wrapper-stack";
}

export type PaperLabyrinth = Env<Float32Array, number>;

/**
 * The paper's labyrinth in one call: 6x6, escape 80 / explore 40 steps unless overridden, wrapped
 * as sgprop's `make_env` does (PreviousAction, then Antialias, then Flatten): observations are
 * Float32Array(56), actions 0..3.
 */
export function makePaperLabyrinth(kind: LabyrinthKind, opts: PaperLabyrinthOptions = {}): PaperLabyrinth {
  const variant = opts.variant ?? "fused";
  const envOpts: LabyrinthEnvOptions = {
    ...opts,
    mazeDims: opts.mazeDims ?? [6, 6],
    episodeLength: opts.episodeLength ?? PAPER_EPISODE_LENGTH[kind],
  };
  if (variant === "fused") return new PaperLabyrinthEnv(kind, envOpts) as PaperLabyrinth;
  if (variant !== "wrapper-stack") {
    throw new RangeError(`variant must be "fused" or "wrapper-stack", got ${JSON.stringify(variant)}`);
  }
  const base = kind === "escape" ? new LabyrinthEscape(envOpts) : new LabyrinthExplore(envOpts);
  return new FlattenObservation(new Antialias(new PreviousAction(base)));
}

export type { LabyrinthRenderMode };
