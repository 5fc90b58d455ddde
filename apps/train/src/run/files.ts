import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import type { MetricsRow } from "../trainers/types.js";

/** Writes JSON through a temporary file, fsync and rename, so readers never see a partial file. */
export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, `${JSON.stringify(value, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

/**
 * An append-only metrics CSV. Each row goes out as one write of a complete line followed by
 * fdatasync, so a killed process leaves whole rows only. Columns are fixed by the first row (or by
 * the existing header when continuing a file).
 */
export class CsvAppender {
  private fd: number | undefined;
  private columns: string[] | undefined;
  private warned = false;
  rows: number;

  constructor(
    readonly path: string,
    existingColumns?: readonly string[],
    existingRows = 0,
  ) {
    this.columns = existingColumns ? [...existingColumns] : undefined;
    this.rows = existingRows;
  }

  append(row: MetricsRow): void {
    if (this.fd === undefined) this.fd = openSync(this.path, "a");
    let text = "";
    if (this.columns === undefined) {
      this.columns = Object.keys(row);
      text += stringify([this.columns]);
    } else if (!this.warned && Object.keys(row).some((k) => !this.columns?.includes(k))) {
      this.warned = true;
      const extra = Object.keys(row).filter((k) => !this.columns?.includes(k));
      process.stderr.write(
        `warning: ${this.path}: metrics ${extra.join(", ")} are not in the header and are not recorded\n`,
      );
    }
    text += stringify([this.columns.map((c) => row[c] ?? "")]);
    writeSync(this.fd, text);
    fdatasyncSync(this.fd);
    this.rows += 1;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** The complete records of a CSV text: what precedes its last newline (a partial row is dropped). */
function completeRecords(text: string): string[][] {
  const end = text.lastIndexOf("\n");
  if (end < 0) return [];
  return parse(text.slice(0, end + 1), { relax_column_count: true }) as string[][];
}

/** Reads a metrics CSV (header + numeric rows); a trailing line without a newline is dropped. */
export function readMetricsCsv(path: string): { columns: string[]; rows: number[][] } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return { columns: [], rows: [] };
  }
  const [header, ...body] = completeRecords(text);
  if (header === undefined) return { columns: [], rows: [] };
  const rows = body.map((r) => r.map((v) => (v === "" ? Number.NaN : Number(v))));
  return { columns: header, rows };
}

/** Keeps the header and the first `keep` complete rows (atomic rewrite); returns the header. */
export function truncateMetricsCsv(path: string, keep: number): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  const [header, ...body] = completeRecords(text);
  if (header === undefined) return undefined;
  if (body.length < keep) {
    throw new Error(
      `${path} has ${body.length} complete rows, fewer than the ${keep} the checkpoint recorded`,
    );
  }
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, stringify([header, ...body.slice(0, keep)]));
  renameSync(tmp, path);
  return header;
}

/** Rows as objects keyed by column. */
export function rowsAsRecords(csv: { columns: string[]; rows: number[][] }): Record<string, number>[] {
  return csv.rows.map((r) => Object.fromEntries(csv.columns.map((c, i) => [c, r[i] ?? Number.NaN])));
}
