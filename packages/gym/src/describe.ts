/** Short, human-readable rendering of any value for error messages (long arrays are elided). */
export function describeValue(x: unknown, maxItems = 8): string {
  if (x === undefined) return "undefined";
  if (x === null) return "null";
  if (typeof x === "number") return formatNumber(x);
  if (typeof x === "string") return JSON.stringify(x);
  if (typeof x === "bigint") return `${x}n`;
  if (typeof x === "boolean" || typeof x === "symbol" || typeof x === "function") return String(x);
  if (ArrayBuffer.isView(x) && !(x instanceof DataView)) {
    const arr = x as unknown as ArrayLike<number>;
    return `${x.constructor.name}(${arr.length})${listItems(arr, maxItems)}`;
  }
  if (Array.isArray(x)) {
    const items = x.slice(0, maxItems).map((v) => describeValue(v, maxItems));
    return `[${items.join(", ")}${x.length > maxItems ? `, ... (${x.length} items)` : ""}]`;
  }
  const entries = Object.entries(x as Record<string, unknown>);
  const shown = entries.slice(0, maxItems).map(([k, v]) => `${k}: ${describeValue(v, maxItems)}`);
  return `{${shown.join(", ")}${entries.length > maxItems ? ", ..." : ""}}`;
}

function listItems(arr: ArrayLike<number>, maxItems: number): string {
  const shown: string[] = [];
  for (let i = 0; i < Math.min(arr.length, maxItems); i++) shown.push(formatNumber(Number(arr[i])));
  return `[${shown.join(", ")}${arr.length > maxItems ? ", ..." : ""}]`;
}

export function formatNumber(x: number): string {
  return Object.is(x, -0) ? "-0" : String(x);
}

/**
 * Python-style float rendering ("1.0", "-inf") used by space toString, like Gymnasium's reprs.
 * With `float32`, the shortest decimal that rounds back to the same float32 ("0.1", not
 * "0.10000000149011612").
 */
export function formatFloat(x: number, float32 = false): string {
  if (x === Number.POSITIVE_INFINITY) return "inf";
  if (x === Number.NEGATIVE_INFINITY) return "-inf";
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return x.toFixed(1);
  if (float32) {
    for (let digits = 1; digits < 10; digits++) {
      const short = Number(x.toPrecision(digits));
      if (Math.fround(short) === x) return String(short);
    }
  }
  return String(x);
}

/** Python tuple rendering of a shape: (), (3,), (2, 3). */
export function formatShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
}
