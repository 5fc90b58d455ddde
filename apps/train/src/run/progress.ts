import cliProgress from "cli-progress";
import { formatNumber } from "./metrics.js";

export type ProgressMode = "auto" | "bar" | "lines" | "none";

export interface ProgressUpdate {
  readonly completed: number;
  readonly total: number;
  /** Latest values of the live metrics (short names). */
  readonly metrics: Readonly<Record<string, number | undefined>>;
}

export interface ProgressReporter {
  start(total: number, completed: number): void;
  update(p: ProgressUpdate): void;
  stop(): void;
}

function shortName(metric: string): string {
  return metric.slice(metric.indexOf("/") + 1);
}

export function metricsText(metrics: Readonly<Record<string, number | undefined>>): string {
  return Object.entries(metrics)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${shortName(k)}=${formatNumber(v)}`)
    .join(" ");
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

/**
 * A live bar (cli-progress) on a terminal; plain periodic lines otherwise (CI logs, pipes), at most
 * every `lineIntervalMs` and at every 10% of the run.
 */
export function createProgress(
  mode: ProgressMode,
  label: string,
  stream: NodeJS.WriteStream = process.stdout,
  lineIntervalMs = 10_000,
): ProgressReporter {
  const resolved = mode === "auto" ? (stream.isTTY ? "bar" : "lines") : mode;
  if (resolved === "none") return { start() {}, update() {}, stop() {} };
  if (resolved === "bar") {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} {bar} {value}/{total} | {duration_formatted} < {eta_formatted} | {metrics}`,
        barsize: 24,
        hideCursor: true,
        etaBuffer: 20,
        stream,
        noTTYOutput: true,
      },
      cliProgress.Presets.shades_classic,
    );
    return {
      start: (total, completed) => bar.start(total, completed, { metrics: "" }),
      update: (p) => bar.update(p.completed, { metrics: metricsText(p.metrics) }),
      stop: () => bar.stop(),
    };
  }
  let started = 0;
  let startUnits = 0;
  let lastPrint = 0;
  let lastTenth = -1;
  return {
    start(total, completed) {
      started = Date.now();
      lastPrint = started;
      startUnits = completed;
      lastTenth = Math.floor((completed * 10) / total);
      stream.write(`${label} starting at ${completed}/${total}\n`);
    },
    update(p) {
      const now = Date.now();
      const tenth = Math.floor((p.completed * 10) / p.total);
      if (now - lastPrint < lineIntervalMs && tenth === lastTenth && p.completed !== p.total) return;
      lastPrint = now;
      lastTenth = tenth;
      const elapsed = (now - started) / 1000;
      const rate = (p.completed - startUnits) / Math.max(elapsed, 1e-9);
      const eta = (p.total - p.completed) / rate;
      const pct = ((100 * p.completed) / p.total).toFixed(0);
      stream.write(
        `${label} ${p.completed}/${p.total} (${pct}%) elapsed ${duration(elapsed)} eta ${duration(eta)} ${metricsText(p.metrics)}\n`,
      );
    },
    stop() {},
  };
}
