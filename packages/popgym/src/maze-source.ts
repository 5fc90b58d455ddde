import type { Rng } from "@sgprop/gym";
import type { LabyrinthState } from "./labyrinth-state.js";
import type { InjectedMaze } from "./maze.js";
import { ReferenceMazeRandom, type ReferenceRandomState, RngMazeRandom } from "./maze-random.js";
import type { MazeGenerator } from "./vector.js";

export function validateGenerator(generator: unknown): MazeGenerator {
  if (generator !== "default" && generator !== "reference") {
    throw new RangeError(`generator must be "default" or "reference", got ${JSON.stringify(generator)}`);
  }
  return generator;
}

/** Where an env's mazes come from at reset: an injected maze, the env's Rng, or the reference replay. */
export class MazeSource {
  private reference: ReferenceMazeRandom | undefined;

  constructor(readonly generator: MazeGenerator) {}

  /** The reference replay's generator states (null when it has not started), for checkpoints. */
  getState(): ReferenceRandomState | null {
    return this.reference === undefined ? null : this.reference.getState();
  }

  setState(state: ReferenceRandomState | null): void {
    this.reference = state === null ? undefined : ReferenceMazeRandom.fromState(state);
  }

  /** Starts an episode in `state`; `rng` is the env's generator, already re-seeded by `seed` if one was given. */
  reset(
    state: LabyrinthState,
    rng: () => Rng,
    seed: number | undefined,
    maze: InjectedMaze | undefined,
  ): void {
    // Built aside and kept only once the reset succeeded: a rejected maze leaves the stream as it was.
    const reseeded =
      this.generator === "reference" && seed !== undefined ? ReferenceMazeRandom.fromSeed(seed) : undefined;
    if (maze !== undefined) {
      state.resetInjected(maze);
      if (reseeded !== undefined) this.reference = reseeded;
    } else if (this.generator === "reference") {
      if (reseeded !== undefined) this.reference = reseeded;
      // Never seeded: start the replay from a seed drawn from the env's (default-seeded) generator.
      this.reference ??= ReferenceMazeRandom.fromSeed(rng().uint32());
      state.resetGenerated(this.reference);
    } else {
      state.resetGenerated(new RngMazeRandom(rng()));
    }
  }
}
