import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The repository root: the CLI runs from TypeScript sources like `pnpm sgprop`. */
export const ROOT = join(import.meta.dirname, "../..");

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts `sgprop <args>` as a child process (stdout is a pipe, so progress prints plain lines). */
export function startCli(args: readonly string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(
    process.execPath,
    ["--conditions=source", "--import", "tsx", join(ROOT, "apps/train/src/bin.ts"), ...args],
    {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
}

export function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  const child = startCli(args, env);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

/** Data lines of a CSV file (header excluded); a file that does not exist has none. */
export function csvLines(path: string): string[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, "utf8");
  return text
    .split("\n")
    .slice(1)
    .filter((l) => l !== "");
}

/** Columns of a CSV as records of strings; asserts every line is complete (same field count). */
export function readCsv(path: string): { header: string[]; rows: Record<string, string>[] } {
  const text = readFileSync(path, "utf8");
  if (!text.endsWith("\n")) throw new Error(`${path} ends with a partial line`);
  const [head, ...lines] = text.trimEnd().split("\n");
  const header = (head ?? "").split(",");
  const rows = lines.map((line, i) => {
    const cells = line.split(",");
    if (cells.length !== header.length)
      throw new Error(`${path} line ${i + 2} has ${cells.length} fields, header ${header.length}`);
    return Object.fromEntries(header.map((h, j) => [h, cells[j] as string]));
  });
  return { header, rows };
}

/** The `line mark` paths of a Vega SVG, each with its number of points (M/L commands). */
export function svgLines(svg: string): { label: string; points: number }[] {
  const out: { label: string; points: number }[] = [];
  for (const m of svg.matchAll(/<path\b([^>]*)>/g)) {
    const attrs = m[1] ?? "";
    if (!attrs.includes('aria-roledescription="line mark"')) continue;
    const d = /\sd="([^"]*)"/.exec(attrs)?.[1] ?? "";
    const label = /aria-label="([^"]*)"/.exec(attrs)?.[1] ?? "";
    out.push({ label, points: (d.match(/[ML]/g) ?? []).length });
  }
  return out;
}

/** Does @sgprop/agents export the real trainer of this kind yet? */
export async function hasRealTrainer(kind: "popgym" | "bandit"): Promise<boolean> {
  const agents = (await import("@sgprop/agents")) as Record<string, unknown>;
  return typeof agents[kind === "popgym" ? "createPopgymTrainer" : "createBanditTrainer"] === "function";
}
