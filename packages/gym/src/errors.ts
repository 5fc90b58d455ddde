import { crossCopyClass } from "./cross-copy.js";
import { describeValue } from "./describe.js";
import type { Space } from "./spaces/space.js";

export { InvalidSeedError } from "./random.js";

/** A space was constructed with impossible parameters (n <= 0, low > high, NaN bounds, ...). */
export class InvalidSpaceError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "InvalidSpaceError";
  }
}

/** flatten/unflatten/flatdim met a Space subclass they do not know. */
export class UnsupportedSpaceError extends TypeError {
  constructor(readonly space: Space<unknown>) {
    super(`no flattening rule for space ${space.toString()} (${space.constructor.name})`);
    this.name = "UnsupportedSpaceError";
  }
}

/** Thrown by `step` (of every Env and Wrapper) before any state changes. */
export class ActionOutOfSpaceError extends RangeError {
  readonly space: string;
  constructor(
    space: Space<unknown>,
    readonly action: unknown,
    readonly reason: string | undefined = space.mismatch(action),
  ) {
    super(
      `action ${describeValue(action)} is not in the action space ${space.toString()}${reason ? `: ${reason}` : ""}`,
    );
    this.space = space.toString();
    this.name = "ActionOutOfSpaceError";
  }
}

/** `step` was called before the first `reset`, or after the episode terminated or was truncated. */
export class ResetNeededError extends Error {
  constructor(
    readonly envName: string,
    readonly reason: "never-reset" | "episode-over",
  ) {
    super(
      reason === "never-reset"
        ? `${envName}.step() called before reset(); call reset() first`
        : `${envName}.step() called after the episode ended (terminated or truncated); call reset() first`,
    );
    this.name = "ResetNeededError";
  }
}

/** An id is not of the form `[namespace/]Name-vN`. */
export class InvalidEnvIdError extends RangeError {
  constructor(readonly id: string) {
    super(
      `invalid environment id ${JSON.stringify(id)}: expected "[namespace/]Name-vN", e.g. "popgym/LabyrinthEscape-v0"`,
    );
    this.name = "InvalidEnvIdError";
  }
}

/** `make`/`spec` with an id nobody registered; `suggestions` holds the closest registered ids. */
export class UnknownEnvError extends Error {
  constructor(
    readonly id: string,
    readonly suggestions: readonly string[],
  ) {
    super(
      `no environment registered as ${JSON.stringify(id)}` +
        (suggestions.length > 0
          ? `; did you mean ${suggestions.map((s) => JSON.stringify(s)).join(", ")}?`
          : "; no similar ids are registered"),
    );
    this.name = "UnknownEnvError";
  }
}

/** `register` with an id that is already taken. */
export class DuplicateEnvError extends Error {
  constructor(readonly id: string) {
    super(`environment id ${JSON.stringify(id)} is already registered`);
    this.name = "DuplicateEnvError";
  }
}

/** Thrown by `assertEnv` with every problem `checkEnv` found. */
export class EnvCheckError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`environment check failed:\n- ${problems.join("\n- ")}`);
    this.name = "EnvCheckError";
  }
}

crossCopyClass(InvalidSpaceError, "InvalidSpaceError");
crossCopyClass(UnsupportedSpaceError, "UnsupportedSpaceError");
crossCopyClass(ActionOutOfSpaceError, "ActionOutOfSpaceError");
crossCopyClass(ResetNeededError, "ResetNeededError");
crossCopyClass(InvalidEnvIdError, "InvalidEnvIdError");
crossCopyClass(UnknownEnvError, "UnknownEnvError");
crossCopyClass(DuplicateEnvError, "DuplicateEnvError");
crossCopyClass(EnvCheckError, "EnvCheckError");
