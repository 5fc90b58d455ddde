import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { PassThrough } from "node:stream";
import type { Output } from "../src/cli/output.js";
import { main } from "../src/cli.js";

/** An Output that records lines (and swallows progress output). */
export function captureOutput(): Output & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  const stream = new PassThrough() as unknown as NodeJS.WriteStream;
  (stream as unknown as PassThrough).resume();
  return { lines, errors, info: (l) => lines.push(l), error: (l) => errors.push(l), stream };
}

/** Every file under `dir` with a hash of its content (empty when `dir` does not exist). */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = createHash("sha256").update(readFileSync(p)).digest("hex");
    }
  };
  walk(dir);
  return out;
}

/**
 * Runs the `sgprop` command in-process; returns its exit code and everything it printed (stdout
 * lines, error lines, and what commander wrote straight to stderr).
 */
export async function runCli(args: string[]): Promise<{ code: number; text: string; lines: string[] }> {
  const out = captureOutput();
  const stderr: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => {
    stderr.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(args, out);
    return { code, text: [...out.lines, ...out.errors, ...stderr].join("\n"), lines: out.lines };
  } finally {
    process.stderr.write = write;
  }
}
