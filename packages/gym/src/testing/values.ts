import { describeValue } from "../describe.js";

type TypedArray = Exclude<ArrayBufferView, DataView>;

function isTypedArray(x: unknown): x is TypedArray {
  return ArrayBuffer.isView(x) && !(x instanceof DataView);
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== "object" || x === null) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/**
 * A copy of `x` that later mutation of `x` cannot change: typed arrays are sliced (only their
 * own view, not a shared backing buffer), arrays and plain objects copied recursively, anything
 * else kept as is. Envs may legitimately reuse observation buffers, so trajectories are recorded
 * through this.
 */
export function snapshot<T>(x: T): T {
  if (isTypedArray(x)) return (x as unknown as { slice(): T }).slice();
  if (Array.isArray(x)) return x.map((v) => snapshot(v)) as T;
  if (isPlainObject(x)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) out[k] = snapshot(v);
    return out as T;
  }
  return x;
}

/**
 * Where `a` and `b` first differ, as "path: a vs b", or undefined when they are equal: same
 * typed-array class and entries (NaN equals NaN), same array entries, same plain-object keys and
 * values, other values by `Object.is` except that 0 equals -0.
 */
export function firstDifference(a: unknown, b: unknown, path = ""): string | undefined {
  const here = path === "" ? "value" : path;
  if (typeof a === "number" && typeof b === "number") {
    return a === b || (Number.isNaN(a) && Number.isNaN(b)) ? undefined : `${here}: ${a} vs ${b}`;
  }
  if (isTypedArray(a) || isTypedArray(b)) {
    if (!isTypedArray(a) || !isTypedArray(b) || a.constructor !== b.constructor) {
      return `${here}: ${describeValue(a)} vs ${describeValue(b)}`;
    }
    const x = a as unknown as ArrayLike<number>;
    const y = b as unknown as ArrayLike<number>;
    if (x.length !== y.length) return `${here}: length ${x.length} vs ${y.length}`;
    for (let i = 0; i < x.length; i++) {
      const d = firstDifference(x[i], y[i], `${here}[${i}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b)) return `${here}: ${describeValue(a)} vs ${describeValue(b)}`;
    if (a.length !== b.length) return `${here}: length ${a.length} vs ${b.length}`;
    for (let i = 0; i < a.length; i++) {
      const d = firstDifference(a[i], b[i], `${here}[${i}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    if (ka.join("\u0000") !== kb.join("\u0000")) return `${here}: keys [${ka}] vs [${kb}]`;
    for (const k of ka) {
      const d = firstDifference(a[k], b[k], path === "" ? k : `${path}.${k}`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  return Object.is(a, b) ? undefined : `${here}: ${describeValue(a)} vs ${describeValue(b)}`;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function numberSource(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Number.POSITIVE_INFINITY) return "Infinity";
  if (x === Number.NEGATIVE_INFINITY) return "-Infinity";
  return Object.is(x, -0) ? "-0" : String(x);
}

/**
 * JavaScript (and TypeScript) source text that evaluates to a value equal to `x`, on one line:
 * numbers (NaN, Infinity and -0 included), strings, booleans, undefined, null, bigints, typed
 * arrays (`Float32Array.of(...)`), arrays and plain objects. Used for replay snippets, so
 * counterexamples can be pasted back as code. Throws TypeError for anything else (functions,
 * class instances), which no action or seed should be.
 */
export function toSource(x: unknown): string {
  if (x === undefined) return "undefined";
  if (x === null) return "null";
  if (typeof x === "number") return numberSource(x);
  if (typeof x === "string" || typeof x === "boolean") return JSON.stringify(x);
  if (typeof x === "bigint") return `${x}n`;
  if (isTypedArray(x)) {
    const items = Array.from(x as unknown as ArrayLike<number>, (v) => numberSource(v));
    return `${x.constructor.name}.of(${items.join(", ")})`;
  }
  if (Array.isArray(x)) return `[${x.map((v) => toSource(v)).join(", ")}]`;
  if (isPlainObject(x)) {
    const entries = Object.entries(x).map(
      ([k, v]) => `${IDENTIFIER.test(k) ? k : JSON.stringify(k)}: ${toSource(v)}`,
    );
    return entries.length === 0 ? "{}" : `{ ${entries.join(", ")} }`;
  }
  throw new TypeError(`toSource: cannot write ${describeValue(x)} as source text`);
}
