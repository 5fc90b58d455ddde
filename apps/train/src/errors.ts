/**
 * Exit codes of the `sgprop` command. Usage errors (bad flags, bad values, unreadable config files,
 * folders that already exist, incompatible checkpoints) are 2 and are raised before anything is written.
 */
export const ExitCode = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

/** A mistake in what the user asked for; reported without a stack trace, exit code 2. */
export class UsageError extends Error {
  override readonly name: string = "UsageError";
}

/** A flag or config value outside its allowed set. */
export class InvalidOptionError extends UsageError {
  override readonly name = "InvalidOptionError";
  constructor(
    readonly option: string,
    readonly value: unknown,
    readonly allowed: string,
  ) {
    super(`invalid value ${JSON.stringify(value)} for ${option}: expected ${allowed}`);
  }
}

/** A config file that is missing, unreadable or malformed. */
export class ConfigFileError extends UsageError {
  override readonly name = "ConfigFileError";
}

/** A results folder that exists (without --overwrite) or is not a run folder (with --resume). */
export class ResultsFolderError extends UsageError {
  override readonly name = "ResultsFolderError";
}

/** A checkpoint that cannot continue the requested run. */
export class IncompatibleCheckpointError extends UsageError {
  override readonly name = "IncompatibleCheckpointError";
}

/**
 * An error with a readable stack: frames inside bundled dependencies can be one line holding a
 * whole minified source (tfjs-backend-wasm), so each line is cut and the frames capped.
 */
export function conciseError(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, 2000);
  const cut = (line: string) =>
    line.length > 300 ? `${line.slice(0, 300)}... (${line.length} characters)` : line;
  const head = cut(`${error.name}: ${error.message}`.split("\n")[0] ?? error.name);
  const frames = (error.stack ?? "")
    .split("\n")
    .filter((l) => /^\s+at /.test(l))
    .slice(0, 12)
    .map(cut);
  return [head, ...frames].join("\n");
}
