/**
 * Thrown when a simulation setting is out of its domain. `parameter` names the offending setting
 * and `value` holds what was passed, so callers (the CLI) can point at the exact flag.
 */
export class ExpertSimConfigError extends RangeError {
  constructor(
    readonly parameter: string,
    readonly value: unknown,
    requirement: string,
  ) {
    super(`${parameter} ${requirement}, got ${formatValue(value)}`);
    this.name = "ExpertSimConfigError";
  }
}

function formatValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(formatValue).join(", ")}]`;
  if (typeof value === "string") return JSON.stringify(value);
  return String(value);
}

export function requireInteger(
  parameter: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
) {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`;
    throw new ExpertSimConfigError(parameter, value, `must be an integer ${range}`);
  }
}

export function requireNonNegative(parameter: string, value: unknown) {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new ExpertSimConfigError(parameter, value, "must be a finite number >= 0");
  }
}

/** Mismatched array lengths would otherwise read past the end and turn into silent NaN. */
export function requireLength(parameter: string, length: number, expected: number, meaning: string) {
  if (length !== expected) {
    throw new ExpertSimConfigError(`${parameter}.length`, length, `must be ${expected} (${meaning})`);
  }
}
