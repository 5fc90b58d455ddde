import { InvalidOptionError } from "../errors.js";

/** A hyper-parameter value as it appears in configs, CLI flags and config.json. */
export type ParamValue = number | string | boolean | readonly number[];

/** A named set of settings (`--preset`); the tables are in presets.ts and dni-presets.ts. */
export interface Preset {
  readonly description: string;
  readonly values: Readonly<Record<string, ParamValue>>;
}

export type ParamType =
  | { readonly type: "number"; readonly min?: number; readonly max?: number; readonly exclusiveMin?: boolean }
  | { readonly type: "integer"; readonly min?: number; readonly max?: number }
  | { readonly type: "enum"; readonly values: readonly string[] }
  | { readonly type: "boolean" }
  | { readonly type: "integerList"; readonly min?: number; readonly length?: number }
  | { readonly type: "path" };

/** A default that depends on other settings (e.g. the paper's learning rate per model/algorithm). */
export interface DerivedDefault {
  readonly derive: (resolved: Readonly<Record<string, ParamValue | undefined>>) => ParamValue | undefined;
  /** How the default is chosen, for --help. */
  readonly doc: string;
}

export interface ParamSpec {
  /** Option key (camelCase), as in the trainer options and config files. */
  readonly key: string;
  readonly description: string;
  readonly type: ParamType;
  /** The paper's value; `undefined` for optional settings without one (e.g. dataDir). */
  readonly default: ParamValue | DerivedDefault | undefined;
  /** Optional settings may stay unset; they are then omitted from the trainer options. */
  readonly optional?: boolean;
  /** Said after the allowed values when a value is refused, e.g. which flag to use instead. */
  readonly hint?: string;
}

export function isDerived(d: ParamSpec["default"]): d is DerivedDefault {
  return typeof d === "object" && d !== null && !Array.isArray(d) && "derive" in d;
}

/** `learningRate` -> `--learning-rate`. */
export function flagOf(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** `learning-rate` or `learningRate` -> `learningRate`. */
export function keyOf(name: string): string {
  return name.replace(/^--/, "").replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export function describeAllowed(type: ParamType): string {
  switch (type.type) {
    case "number": {
      const lo = type.min === undefined ? "" : ` ${type.exclusiveMin ? ">" : ">="} ${type.min}`;
      const hi = type.max === undefined ? "" : ` <= ${type.max}`;
      return `a number${lo}${lo && hi ? " and" : ""}${hi}`;
    }
    case "integer": {
      const lo = type.min === undefined ? "" : ` >= ${type.min}`;
      const hi = type.max === undefined ? "" : ` <= ${type.max}`;
      if (type.min === undefined && type.max === undefined) return "an integer below 2^53";
      return `an integer${lo}${lo && hi ? " and" : ""}${hi}`;
    }
    case "enum":
      return `one of ${type.values.join(", ")}`;
    case "boolean":
      return "true or false";
    case "path":
      return "a non-empty path";
    case "integerList":
      return `${type.length === undefined ? "a list of" : `${type.length}`} integers${
        type.min === undefined ? "" : ` >= ${type.min}`
      }, comma-separated (e.g. ${type.length === 2 ? "6,6" : "0,1,3"})`;
  }
}

export function placeholderOf(type: ParamType): string {
  switch (type.type) {
    case "number":
      return "<number>";
    case "integer":
      return "<int>";
    case "enum":
      return `<${type.values.join("|")}>`;
    case "boolean":
      return "<true|false>";
    case "integerList":
      return "<ints>";
    case "path":
      return "<path>";
  }
}

function parseNumber(raw: unknown): number | undefined {
  if (typeof raw === "number") return raw;
  if (typeof raw === "string" && raw.trim() !== "") {
    const n = Number(raw);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/**
 * Parses and validates one value (a CLI string or a JSON/YAML value); `where` names its source in
 * errors, e.g. `--learning-rate` or `learningRate in run.yaml`.
 */
export function parseParamValue(spec: ParamSpec, raw: unknown, where: string): ParamValue {
  const t = spec.type;
  const fail = (): never => {
    throw new InvalidOptionError(
      where,
      raw,
      `${describeAllowed(t)}${spec.hint === undefined ? "" : ` (${spec.hint})`}`,
    );
  };
  switch (t.type) {
    case "number": {
      const n = parseNumber(raw);
      if (n === undefined || !Number.isFinite(n)) return fail();
      if (t.min !== undefined && (t.exclusiveMin ? n <= t.min : n < t.min)) return fail();
      if (t.max !== undefined && n > t.max) return fail();
      return n;
    }
    case "integer": {
      const n = parseNumber(raw);
      // Above 2^53 neighbouring integers collapse (9007199254740993 reads as ...992).
      if (n === undefined || !Number.isSafeInteger(n)) return fail();
      if (t.min !== undefined && n < t.min) return fail();
      if (t.max !== undefined && n > t.max) return fail();
      return n;
    }
    case "enum": {
      if (typeof raw !== "string" || !t.values.includes(raw)) return fail();
      return raw;
    }
    case "boolean": {
      if (typeof raw === "boolean") return raw;
      if (raw === "true") return true;
      if (raw === "false") return false;
      return fail();
    }
    case "path": {
      if (typeof raw !== "string" || raw === "") return fail();
      return raw;
    }
    case "integerList": {
      const items: unknown[] = Array.isArray(raw)
        ? raw
        : typeof raw === "string"
          ? raw.split(/[,x ]+/).filter((s) => s !== "")
          : typeof raw === "number"
            ? [raw]
            : [];
      const values = items.map(parseNumber);
      if (values.length === 0 || values.some((v) => v === undefined || !Number.isSafeInteger(v)))
        return fail();
      const ints = values as number[];
      if (t.length !== undefined && ints.length !== t.length) return fail();
      if (t.min !== undefined && ints.some((v) => v < (t.min as number))) return fail();
      return ints;
    }
  }
}

export function formatDefault(spec: ParamSpec): string {
  const d = spec.default;
  if (d === undefined) return "unset";
  if (isDerived(d)) return d.doc;
  if (Array.isArray(d)) return d.join(",");
  return String(d);
}

/** Levenshtein distance, for "did you mean" hints on unknown keys. */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDist = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  return bestDist <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, sub));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
