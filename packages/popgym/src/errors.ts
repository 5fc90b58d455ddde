/** Maze dimensions that POPGym would reject (odd, below 6, not integers). */
export class InvalidMazeDimsError extends RangeError {
  constructor(
    readonly mazeDims: unknown,
    reason: string,
  ) {
    super(
      `mazeDims must be two even integers >= 6 (POPGym/mazelib rule), got ${JSON.stringify(mazeDims)}: ${reason}`,
    );
    this.name = "InvalidMazeDimsError";
  }
}

/** An injected maze (reset option `maze`) that does not fit the env. */
export class InvalidMazeError extends RangeError {
  constructor(message: string) {
    super(`invalid injected maze: ${message}`);
    this.name = "InvalidMazeError";
  }
}

/** An episode length that is not a positive integer. */
export class InvalidEpisodeLengthError extends RangeError {
  constructor(readonly episodeLength: unknown) {
    super(`episodeLength must be a positive safe integer, got ${String(episodeLength)}`);
    this.name = "InvalidEpisodeLengthError";
  }
}

/** An action outside Discrete(4) given to the batched vector env. */
export class InvalidActionError extends RangeError {
  constructor(
    readonly action: unknown,
    readonly envIndex: number,
  ) {
    super(
      `action for env ${envIndex} must be an integer in 0..3 (Discrete(4)), got ${JSON.stringify(action) ?? String(action)}`,
    );
    this.name = "InvalidActionError";
  }
}

/** Stepping an env (or a vector env slot) that was never reset. */
export class LabyrinthNotResetError extends Error {
  constructor(what: string) {
    super(`${what} must be reset before it is stepped`);
    this.name = "LabyrinthNotResetError";
  }
}
