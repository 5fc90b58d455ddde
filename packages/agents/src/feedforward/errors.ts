/** A model or trainer configuration that cannot work; the message names the value. */
export class InvalidConfigError extends RangeError {
  constructor(
    readonly key: string,
    readonly value: unknown,
    expected: string,
  ) {
    super(`invalid ${key}: ${JSON.stringify(value)} (expected ${expected})`);
    this.name = "InvalidConfigError";
  }
}

/** The input given to a model does not fit it. */
export class InvalidInputError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "InvalidInputError";
  }
}

export function requireInt(key: string, value: unknown, min: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidConfigError(key, value, `an integer >= ${min}`);
  }
  return value;
}

export function requireUnit(key: string, value: unknown): number {
  if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
    throw new InvalidConfigError(key, value, "a number in [0, 1]");
  }
  return value;
}

/** Checks that a float array has only finite values; names the offending entry. */
export function assertFiniteArray(name: string, data: ArrayLike<number>): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i] as number)) {
      throw new InvalidInputError(`${name}[${i}] is ${data[i]}, expected a finite number`);
    }
  }
}
