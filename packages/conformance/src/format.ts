/** One tensor of a golden file: row-major data with its shape (`[]` for a scalar). */
export interface GoldenTensor {
  readonly shape: readonly number[];
  readonly data: readonly number[];
}

/**
 * A file in the `sgprop-golden/1` format. Model cases carry `config`, `tensors` and `expected`;
 * trajectory cases (the labyrinths) carry case-specific fields such as `episodes`, which their
 * checker validates itself.
 */
export interface GoldenFile {
  readonly format: "sgprop-golden/1";
  readonly case: string;
  readonly description?: string;
  readonly config?: Readonly<Record<string, unknown>>;
  readonly tensors?: Readonly<Record<string, GoldenTensor>>;
  readonly expected?: Readonly<Record<string, GoldenTensor | number>>;
  readonly [field: string]: unknown;
}

export const GOLDEN_FORMAT = "sgprop-golden/1";

/** A golden file that cannot be used: wrong format, missing field, inconsistent tensor. */
export class MalformedGoldenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MalformedGoldenError";
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function checkTensor(where: string, t: unknown): asserts t is GoldenTensor {
  if (!isRecord(t) || !Array.isArray(t.shape) || !Array.isArray(t.data)) {
    throw new MalformedGoldenError(`${where}: expected {shape: number[], data: number[]}`);
  }
  const shape = t.shape as unknown[];
  if (!shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new MalformedGoldenError(`${where}: shape ${JSON.stringify(shape)} is not a list of sizes`);
  }
  const size = (shape as number[]).reduce((a, b) => a * b, 1);
  if (t.data.length !== size) {
    throw new MalformedGoldenError(
      `${where}: shape ${JSON.stringify(shape)} needs ${size} values, data has ${t.data.length}`,
    );
  }
  if (!(t.data as unknown[]).every((v) => typeof v === "number")) {
    throw new MalformedGoldenError(`${where}: data holds a non-number`);
  }
}

/** Parses and validates the common envelope of a golden file. */
export function parseGoldenFile(text: string, source = "<input>"): GoldenFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new MalformedGoldenError(`${source}: not valid JSON (${(e as Error).message})`);
  }
  if (!isRecord(raw)) throw new MalformedGoldenError(`${source}: top level must be a JSON object`);
  if (raw.format !== GOLDEN_FORMAT) {
    throw new MalformedGoldenError(
      `${source}: format must be "${GOLDEN_FORMAT}", got ${JSON.stringify(raw.format)}`,
    );
  }
  if (typeof raw.case !== "string" || raw.case === "") {
    throw new MalformedGoldenError(`${source}: missing string field "case"`);
  }
  for (const section of ["tensors", "expected"] as const) {
    const s = raw[section];
    if (s === undefined) continue;
    if (!isRecord(s)) throw new MalformedGoldenError(`${source}: "${section}" must be an object`);
    for (const [name, t] of Object.entries(s)) {
      if (section === "expected" && typeof t === "number") continue;
      checkTensor(`${source}: ${section}.${name}`, t);
    }
  }
  if (raw.config !== undefined && !isRecord(raw.config)) {
    throw new MalformedGoldenError(`${source}: "config" must be an object`);
  }
  return raw as unknown as GoldenFile;
}

/** An input tensor by name, optionally checking its shape. */
export function goldenTensor(file: GoldenFile, name: string, shape?: readonly number[]): GoldenTensor {
  const t = file.tensors?.[name];
  if (t === undefined) throw new MalformedGoldenError(`${file.case}: missing tensor "${name}"`);
  assertShape(`${file.case}: tensor "${name}"`, t, shape);
  return t;
}

/** An expected tensor by name, optionally checking its shape. */
export function goldenExpected(file: GoldenFile, name: string, shape?: readonly number[]): GoldenTensor {
  const t = file.expected?.[name];
  if (t === undefined) throw new MalformedGoldenError(`${file.case}: missing expected "${name}"`);
  if (typeof t === "number") return { shape: [], data: [t] };
  assertShape(`${file.case}: expected "${name}"`, t, shape);
  return t;
}

/** An expected scalar (plain number, or a tensor of one value). */
export function goldenScalar(file: GoldenFile, name: string): number {
  const t = goldenExpected(file, name);
  if (t.data.length !== 1) throw new MalformedGoldenError(`${file.case}: expected "${name}" is not a scalar`);
  return t.data[0] as number;
}

/** A numeric config entry. */
export function goldenConfigNumber(file: GoldenFile, key: string): number {
  const v = file.config?.[key];
  if (typeof v !== "number") throw new MalformedGoldenError(`${file.case}: config.${key} must be a number`);
  return v;
}

function assertShape(where: string, t: GoldenTensor, shape?: readonly number[]): void {
  if (shape === undefined) return;
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new MalformedGoldenError(
      `${where} has shape ${JSON.stringify(t.shape)}, expected ${JSON.stringify(shape)}`,
    );
  }
}
