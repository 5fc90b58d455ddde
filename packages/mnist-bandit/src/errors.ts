/** A file that is not a well-formed IDX file (wrong magic number, bad dimensions, truncated data). */
export class IdxFormatError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = "IdxFormatError";
  }
}

/** Image and label files that do not describe the same examples (different counts, bad labels). */
export class DatasetMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DatasetMismatchError";
  }
}

/** A data directory that lacks one of the four standard IDX files. */
export class DatasetNotFoundError extends Error {
  constructor(
    readonly directory: string,
    readonly tried: readonly string[],
  ) {
    super(`no IDX file found in ${directory}; tried ${tried.join(", ")}`);
    this.name = "DatasetNotFoundError";
  }
}

/** A class subset that names an unknown class, repeats one, or is empty. */
export class ClassSubsetError extends RangeError {
  constructor(
    readonly classes: readonly unknown[],
    detail: string,
  ) {
    super(`invalid class subset [${classes.map(String).join(", ")}]: ${detail}`);
    this.name = "ClassSubsetError";
  }
}

/** An option outside its documented range (pFlip, batch size, number of evaluation contexts...). */
export class InvalidOptionError extends RangeError {
  constructor(
    readonly option: string,
    readonly value: unknown,
    expected: string,
  ) {
    super(`${option} must be ${expected}, got ${String(value)}`);
    this.name = "InvalidOptionError";
  }
}

/** An action that is not an integer index of the bandit's action set. */
export class InvalidActionError extends RangeError {
  constructor(
    readonly index: number,
    readonly action: unknown,
    readonly numActions: number,
  ) {
    super(`action[${index}] must be an integer in [0, ${numActions - 1}], got ${String(action)}`);
    this.name = "InvalidActionError";
  }
}
