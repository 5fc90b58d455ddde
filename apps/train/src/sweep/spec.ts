import { ConfigFileError, InvalidOptionError, UsageError } from "../errors.js";
import { readSettingsFile } from "../options/config-file.js";
import type { TrainKind } from "../options/presets.js";
import { presetLayer, type ResolvedOptions, resolveOptions, type SettingsLayer } from "../options/resolve.js";
import { keyOf } from "../options/schema.js";

/**
 * A sweep file (YAML or JSON), as in the paper's scripts: methods x grid (cross product).
 *
 *   name: popgym-escape-lr
 *   kind: popgym
 *   preset: paper-escape            # optional
 *   base: { batches: 300 }          # optional settings shared by every run
 *   methods:                        # optional; label -> settings (+ an optional grid of its own)
 *     sparse-sgprop: { model: sparsenet, algorithm: sgprop }
 *     gru: { model: gru, algorithm: backprop, grid: { learningRate: [1e-3] } }
 *   grid: { learningRate: [2e-4, 1e-3], seed: [0, 1, 2] }
 *   checkpointEvery: 25             # optional
 */
export interface SweepFile {
  readonly name: string;
  readonly kind: TrainKind;
  readonly preset?: string;
  readonly base?: Record<string, unknown>;
  readonly methods?: Record<string, Record<string, unknown>>;
  readonly grid?: Record<string, unknown[]>;
  readonly checkpointEvery?: number;
  readonly keepCheckpoints?: number;
}

export interface SweepRun {
  /** Folder name under runs/, unique in the sweep. */
  readonly id: string;
  /** Label grouping the run in reports (a method of the sweep file). */
  readonly method: string;
  /** The grid point of this run, e.g. { learningRate: 0.001, seed: 0 }. */
  readonly params: Record<string, unknown>;
  readonly options: ResolvedOptions;
}

export interface ExpandedSweep {
  readonly name: string;
  readonly kind: TrainKind;
  readonly checkpointEvery: number;
  readonly keepCheckpoints: number;
  readonly runs: readonly SweepRun[];
}

/** The kinds a sweep file may name: every kind of `sgprop train`. */
const SWEEP_KINDS: readonly TrainKind[] = ["popgym", "bandit", "bp-lambda", "dni"];

const TOP_KEYS = ["name", "kind", "preset", "base", "methods", "grid", "checkpointEvery", "keepCheckpoints"];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function readSweepFile(path: string): SweepFile {
  const raw = readSettingsFile(path);
  return checkSweepFile(raw, path);
}

export function checkSweepFile(raw: Record<string, unknown>, where: string): SweepFile {
  for (const key of Object.keys(raw)) {
    if (!TOP_KEYS.includes(key))
      throw new ConfigFileError(
        `unknown key ${JSON.stringify(key)} in sweep file ${where}; allowed: ${TOP_KEYS.join(", ")}`,
      );
  }
  if (!SWEEP_KINDS.includes(raw.kind as TrainKind))
    throw new InvalidOptionError(`kind in ${where}`, raw.kind, "popgym, bandit, bp-lambda or dni");
  if (typeof raw.name !== "string" || !/^[\w.-]+$/.test(raw.name)) {
    throw new InvalidOptionError(`name in ${where}`, raw.name, "a name of letters, digits, '.', '_' or '-'");
  }
  for (const key of ["base", "methods", "grid"] as const) {
    if (raw[key] !== undefined && !isRecord(raw[key]))
      throw new InvalidOptionError(`${key} in ${where}`, raw[key], "a mapping");
  }
  const checkGrid = (grid: unknown, label: string) => {
    if (grid === undefined) return;
    if (!isRecord(grid)) throw new InvalidOptionError(label, grid, "a mapping of setting -> list of values");
    for (const [k, v] of Object.entries(grid)) {
      if (!Array.isArray(v) || v.length === 0)
        throw new InvalidOptionError(`${label}.${k}`, v, "a non-empty list of values");
    }
  };
  checkGrid(raw.grid, `grid in ${where}`);
  for (const [label, m] of Object.entries((raw.methods ?? {}) as Record<string, unknown>)) {
    if (!isRecord(m))
      throw new InvalidOptionError(`methods.${label} in ${where}`, m, "a mapping of settings");
    if (!/^[\w.-]+$/.test(label))
      throw new InvalidOptionError(
        `methods in ${where}`,
        label,
        "labels of letters, digits, '.', '_' or '-'",
      );
    checkGrid(m.grid, `methods.${label}.grid in ${where}`);
  }
  for (const key of ["checkpointEvery", "keepCheckpoints"] as const) {
    const v = raw[key];
    if (v !== undefined && (typeof v !== "number" || !Number.isInteger(v) || v < 1))
      throw new InvalidOptionError(`${key} in ${where}`, v, "an integer >= 1");
  }
  return raw as unknown as SweepFile;
}

function cartesian(grid: Record<string, unknown[]>): Record<string, unknown>[] {
  let points: Record<string, unknown>[] = [{}];
  for (const [key, values] of Object.entries(grid)) {
    points = points.flatMap((p) => values.map((v) => ({ ...p, [key]: v })));
  }
  return points;
}

function formatParam(v: unknown): string {
  return Array.isArray(v) ? v.join("x") : String(v);
}

/** Units between checkpoints when the sweep file does not say (dni: as `sgprop train dni`). */
const DEFAULT_CHECKPOINT_EVERY: Readonly<Record<TrainKind, number>> = {
  popgym: 25,
  "bp-lambda": 100,
  dni: 100,
  bandit: 250,
};

/** Expands methods x grid into runs, validating every run's settings up front. */
export function expandSweep(file: SweepFile, where: string): ExpandedSweep {
  const methods = file.methods ?? { default: {} };
  const runs: SweepRun[] = [];
  const ids = new Set<string>();
  for (const [method, rawSettings] of Object.entries(methods)) {
    const { grid: methodGrid, ...settings } = rawSettings as Record<string, unknown> & {
      grid?: Record<string, unknown[]>;
    };
    const grid = { ...(file.grid ?? {}), ...(methodGrid ?? {}) };
    for (const point of cartesian(grid)) {
      const layers: SettingsLayer[] = [];
      if (file.preset !== undefined) layers.push(presetLayer(file.kind, file.preset, `preset in ${where}`));
      layers.push({ source: `base in ${where}`, values: file.base ?? {} });
      layers.push({ source: `methods.${method} in ${where}`, values: settings });
      layers.push({ source: `grid in ${where}`, values: point });
      let options: ResolvedOptions;
      try {
        options = resolveOptions(file.kind, layers);
      } catch (error) {
        // Name the run of the sweep file, since a flag name alone does not locate it.
        if (error instanceof UsageError)
          throw new UsageError(
            `sweep ${where}, method ${method}, grid point ${JSON.stringify(point)}: ${error.message}`,
          );
        throw error;
      }
      const params = Object.fromEntries(
        Object.entries(point).map(([k, v]) => [keyOf(k), options[keyOf(k)] ?? v]),
      );
      const suffix = Object.entries(params)
        .map(([k, v]) => `${k}-${formatParam(v)}`)
        .join("__");
      const id = suffix === "" ? method : `${method}__${suffix}`;
      if (ids.has(id)) throw new ConfigFileError(`sweep ${where} produces the run ${id} twice`);
      ids.add(id);
      runs.push({ id, method, params, options });
    }
  }
  return {
    name: file.name,
    kind: file.kind,
    checkpointEvery: file.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY[file.kind],
    keepCheckpoints: file.keepCheckpoints ?? 1,
    runs,
  };
}
