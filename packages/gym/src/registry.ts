import { sharedGlobal } from "./cross-copy.js";
import { Env, type EnvSpec } from "./env.js";
import { DuplicateEnvError, InvalidEnvIdError, UnknownEnvError } from "./errors.js";
import { TimeLimit } from "./wrappers/time-limit.js";

/**
 * Type-level map from registered ids to env types, filled by declaration merging so that `make`
 * returns typed envs:
 *
 *     declare module "@sgprop/gym" {
 *       interface RegisteredEnvs { "popgym/LabyrinthEscape-v0": LabyrinthEscape }
 *     }
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging in env packages
export interface RegisteredEnvs {}

// Any env whatever its types: Env's methods are bivariant in their parameters, so every
// Env<O, A, R> is assignable to this without resorting to `any`.
type AnyEnv = Env<unknown, unknown, unknown>;
export type ObsOf<E> = E extends Env<infer O, unknown, unknown> ? O : never;
export type ActOf<E> = E extends Env<unknown, infer A, unknown> ? A : never;

export interface EnvRegistration<K extends object, E extends AnyEnv> {
  /** `[namespace/]Name-vN` */
  id: string;
  /** A typed factory: receives the registered kwargs merged with those given to `make`. */
  entryPoint: (kwargs: K) => E;
  kwargs?: K;
  /** `make` wraps the env in TimeLimit(env, maxEpisodeSteps) when set. */
  maxEpisodeSteps?: number;
}

export interface MakeOptions {
  /** Overrides the registered maxEpisodeSteps; 0 disables the TimeLimit. */
  maxEpisodeSteps?: number;
}

export interface ParsedEnvId {
  namespace: string | undefined;
  name: string;
  version: number;
}

const ID_PATTERN = /^(?:([A-Za-z0-9_.-]+)\/)?([A-Za-z0-9_.:-]+?)-v(0|[1-9][0-9]*)$/;

/** Splits `namespace/Name-vN`; throws InvalidEnvIdError for anything else. */
export function parseEnvId(id: string): ParsedEnvId {
  const m = ID_PATTERN.exec(id);
  if (m === null) throw new InvalidEnvIdError(id);
  return { namespace: m[1], name: m[2] as string, version: Number(m[3]) };
}

interface Entry {
  spec: EnvSpec;
  entryPoint: (kwargs: Record<string, unknown>) => AnyEnv;
}

// One registry per program, shared by every copy of @sgprop/gym (see cross-copy.ts): envs that
// @sgprop/popgym registers through its copy are visible to make() of the user's copy.
const entries = sharedGlobal("registry", () => new Map<string, Entry>());

/** Registers a factory under `id`. Throws DuplicateEnvError if the id is taken. */
export function register<K extends object, E extends AnyEnv>(registration: EnvRegistration<K, E>): void {
  const { id, entryPoint, kwargs, maxEpisodeSteps } = registration;
  parseEnvId(id);
  if (entries.has(id)) throw new DuplicateEnvError(id);
  if (maxEpisodeSteps !== undefined && (!Number.isSafeInteger(maxEpisodeSteps) || maxEpisodeSteps <= 0)) {
    throw new RangeError(
      `register(${JSON.stringify(id)}): maxEpisodeSteps must be a positive integer, got ${maxEpisodeSteps}`,
    );
  }
  const spec: EnvSpec = { id, kwargs: { ...(kwargs ?? {}) } };
  if (maxEpisodeSteps !== undefined) spec.maxEpisodeSteps = maxEpisodeSteps;
  entries.set(id, { spec, entryPoint: entryPoint as unknown as Entry["entryPoint"] });
}

/** Removes a registration (returns whether it existed). */
export function unregister(id: string): boolean {
  return entries.delete(id);
}

/**
 * Builds a registered env with `kwargs` overriding the registered ones, then applies the fixed
 * wrapper stack: TimeLimit when the spec (or `opts`) has maxEpisodeSteps. Every env already enforces
 * reset-before-step and action checks itself, so no other wrapper is added. Sets `spec` on the env
 * and the wrapper.
 */
export function make<Id extends keyof RegisteredEnvs & string>(
  id: Id,
  kwargs?: Record<string, unknown>,
  opts?: MakeOptions,
): Env<ObsOf<RegisteredEnvs[Id]>, ActOf<RegisteredEnvs[Id]>>;
export function make(id: string, kwargs?: Record<string, unknown>, opts?: MakeOptions): Env<unknown, unknown>;
export function make(
  id: string,
  kwargs: Record<string, unknown> = {},
  opts: MakeOptions = {},
): Env<unknown, unknown> {
  const entry = lookup(id);
  const spec: EnvSpec = { ...entry.spec, kwargs: { ...entry.spec.kwargs, ...kwargs } };
  const maxSteps = opts.maxEpisodeSteps ?? spec.maxEpisodeSteps;
  if (maxSteps === 0) delete spec.maxEpisodeSteps;
  else if (maxSteps !== undefined) spec.maxEpisodeSteps = maxSteps;
  const env: unknown = entry.entryPoint(spec.kwargs);
  if (!(env instanceof Env)) {
    throw new TypeError(`the entry point of ${JSON.stringify(id)} returned ${String(env)}, not an Env`);
  }
  env.spec = spec;
  if (spec.maxEpisodeSteps === undefined) return env;
  const limited = new TimeLimit(env, spec.maxEpisodeSteps);
  limited.spec = spec;
  return limited;
}

/** The registered spec of `id` (a copy). */
export function spec(id: string): EnvSpec {
  const s = lookup(id).spec;
  return { ...s, kwargs: { ...s.kwargs } };
}

/** Every registered spec, sorted by id. */
export function registry(): readonly EnvSpec[] {
  return [...entries.keys()].sort().map(spec);
}

function lookup(id: string): Entry {
  const entry = entries.get(id);
  if (entry !== undefined) return entry;
  parseEnvId(id);
  throw new UnknownEnvError(id, closeIds(id, [...entries.keys()]));
}

/** Registered ids within a small edit distance of `id`, or with the same name (other version or namespace). */
export function closeIds(id: string, ids: readonly string[], max = 5): string[] {
  const wanted = id.toLowerCase();
  const name = ID_PATTERN.exec(id)?.[2]?.toLowerCase();
  const limit = Math.max(2, Math.floor(wanted.length / 3));
  return ids
    .map((candidate) => ({ candidate, d: editDistance(wanted, candidate.toLowerCase()) }))
    .filter(({ candidate, d }) => d <= limit || ID_PATTERN.exec(candidate)?.[2]?.toLowerCase() === name)
    .sort((a, b) => a.d - b.d || a.candidate.localeCompare(b.candidate))
    .slice(0, max)
    .map(({ candidate }) => candidate);
}

/** Levenshtein distance (insertions, deletions, substitutions), one row at a time. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost));
    }
    prev = row;
  }
  return prev[b.length] as number;
}
