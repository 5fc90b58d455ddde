/**
 * BP(lambda)'s Table 2 (Pemberton & Costa) from our runs: the markdown table beside the paper's
 * numbers and the rows of its two figures (score against lambda, score against the truncation n).
 * Used by bench/bp-lambda-report.ts.
 */
import type { PointRow } from "./chart.js";

/** The paper's Table 2 (toy: longest length solved; copy-repeat: length T reached). */
export const BP_LAMBDA_PAPER_TABLE2: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  toy: { "BP(0)": 16, "BP(0.5)": 32, "BP(1)": 90 },
  "copy-repeat": { "BP(0)": 9.0, "BP(0.5)": 15.8, "BP(1)": 29.0 },
};

const UNIT: Readonly<Record<string, string>> = {
  toy: "longest length solved",
  "copy-repeat": "length T reached",
};

/** Mean and mean +/- SEM (sample standard deviation / sqrt(n)) of a list of scores. */
export function meanSem(values: readonly number[]): { mean: number; lo: number; hi: number; n: number } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  const sem = sd / Math.sqrt(n);
  return { mean, lo: mean - sem, hi: mean + sem, n };
}

/**
 * `results[task][method label]` = scores per seed, labels as @sgprop/bp-lambda's `methodLabel`
 * ("BP(0.5)", "BPTT n=3", "BPTT+SG n=3", "no BPTT").
 */
export function bpLambdaTable2(
  results: Readonly<Record<string, Readonly<Record<string, readonly number[]>>>>,
  seeds: readonly number[],
): { markdown: string[]; lambdaRows: PointRow[]; nRows: PointRow[] } {
  const markdown: string[] = [];
  const lambdaRows: PointRow[] = [];
  const nRows: PointRow[] = [];
  for (const [task, rows] of Object.entries(results)) {
    const paper = BP_LAMBDA_PAPER_TABLE2[task] ?? {};
    markdown.push(`## ${task} (${UNIT[task] ?? "score"}; seeds ${seeds.join(", ")})`, "");
    markdown.push("| method | ours, per seed | ours, mean | paper |", "| --- | --- | --- | --- |");
    for (const [method, scores] of Object.entries(rows)) {
      const s = meanSem(scores);
      markdown.push(`| ${method} | ${scores.join(", ")} | ${s.mean.toFixed(1)} | ${paper[method] ?? ""} |`);
      const lambda = /^BP\(([\d.]+)\)$/.exec(method)?.[1];
      if (lambda !== undefined) {
        lambdaRows.push({ panel: task, series: "ours", x: Number(lambda), ...s });
        const value = paper[method];
        if (value !== undefined)
          lambdaRows.push({
            panel: task,
            series: "paper",
            x: Number(lambda),
            mean: value,
            lo: value,
            hi: value,
            n: 1,
          });
      }
      const n = /^(BPTT\+SG|BPTT) n=(\d+)$/.exec(method);
      if (n) {
        const series = n[1] === "BPTT" ? "truncated BPTT" : "BPTT + n-step SG";
        nRows.push({ panel: task, series, x: Number(n[2]), ...s });
      }
    }
    const bp1 = rows["BP(1)"];
    const ns = [...new Set(nRows.filter((r) => r.panel === task).map((r) => r.x))];
    if (bp1) for (const x of ns) nRows.push({ panel: task, series: "BP(1)", x, ...meanSem(bp1) });
    markdown.push("");
  }
  return { markdown, lambdaRows, nRows };
}
