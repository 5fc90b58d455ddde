import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { renderFigure, type VegaLiteSpec } from "../plot/index.js";
import { writeJsonAtomic } from "../run/files.js";
import { formatNumber, textTable } from "../run/metrics.js";
import { loadReferenceRuns, type ReferenceRun } from "../validate/reference.js";
import { bestLearningRates, type GroupStats, groupRuns, reportMetrics } from "./aggregate.js";
import {
  DEPTH_TABLE_HEADER,
  depthCurvesSpec,
  depthRows,
  depthSpec,
  depthTable,
  isDepthSweep,
} from "./dni-depth.js";
import { curvesSpec, lrSensitivitySpec, thetaSpec } from "./figures.js";
import { loadSweep } from "./load.js";
import { type ClaimResult, claimLine, claimsMarkdown, paperClaims } from "./paper-claims.js";
import { findPaperSweeps, isPaperSweep } from "./paper-data.js";
import { paperFigures } from "./paper-figures.js";

export interface ReportOutput {
  readonly markdown: string;
  readonly figures: string[];
  readonly json: string;
  /** One line per claim of the paper checked (verdict, effect, interval). */
  readonly claims: string[];
  readonly claimResults: readonly ClaimResult[];
}

function pm(s: { mean: number; sem: number; n: number }): string {
  return s.n === 0 ? "-" : `${formatNumber(s.mean)} ± ${formatNumber(s.sem)}`;
}

/** A GitHub-flavoured Markdown table. */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  textColumns = 2,
): string {
  const esc = (c: string) => c.replace(/\|/g, "\\|");
  return [
    `| ${header.map(esc).join(" | ")} |`,
    `| ${header.map((_, i) => (i < textColumns ? "---" : "---:")).join(" | ")} |`,
    ...rows.map((r) => `| ${r.map(esc).join(" | ")} |`),
  ].join("\n");
}

function sortGroups(groups: GroupStats[]): GroupStats[] {
  return groups.sort(
    (a, b) =>
      a.setting.localeCompare(b.setting) ||
      a.method.localeCompare(b.method) ||
      a.learningRate - b.learningRate,
  );
}

/** Aggregates sweeps into SVG/PNG figures, `report.md` and `report.json` under `outDir`. */
export async function writeReport(
  sweepDirs: readonly string[],
  outDir: string,
  title: string,
  /** Paragraphs under the title (e.g. what a quick reproduction can and cannot show). */
  preamble: readonly string[] = [],
): Promise<ReportOutput> {
  const figuresDir = join(outDir, "figures");
  mkdirSync(figuresDir, { recursive: true });
  const md: string[] = [
    `# ${title}`,
    "",
    `Generated ${new Date().toISOString()} by \`sgprop report\`.`,
    "",
    ...preamble.flatMap((p) => [p, ""]),
  ];
  const figures: string[] = [];
  const json: Record<string, unknown>[] = [];
  const claims: string[] = [];
  const figure = async (spec: VegaLiteSpec, name: string, caption: string, notes: readonly string[] = []) => {
    const out = await renderFigure(spec, join(figuresDir, name));
    writeFileSync(join(figuresDir, `${name}.vl.json`), `${JSON.stringify(spec, null, 2)}\n`);
    figures.push(out.svg, out.png);
    md.push(
      `![${caption}](${relative(outDir, out.png)})`,
      "",
      `*${caption}* ([SVG](${relative(outDir, out.svg)}))`,
      "",
      ...(notes.length === 0 ? [] : [...notes.map((n) => `- ${n}`), ""]),
    );
  };
  const allLoaded = sweepDirs.map((dir) => loadSweep(dir));
  const paper = findPaperSweeps(allLoaded);
  const claimResults = allLoaded.some((l) => isPaperSweep(l.sweep.name)) ? paperClaims(paper) : [];
  if (claimResults.length > 0) {
    md.push("## Claims of the paper", "");
    md.push(
      `Each claim as a testable statement, measured on the runs below (${claimResults.filter((c) => c.verdict !== "not measured").length} of ${claimResults.length} measurable with the sweeps in this report).`,
      "",
    );
    md.push(...claimsMarkdown(claimResults), "");
    claims.push(...claimResults.map(claimLine));
    const figs = paperFigures(paper, { bandit: references("bandit"), popgym: references("popgym") });
    if (figs.length > 0) md.push("## Figures of the paper", "");
    for (const f of figs) await figure(f.spec, f.name, f.caption, f.notes);
  }
  for (const loaded of allLoaded) {
    const { sweep, runs, dir } = loaded;
    const name = sweep.name;
    // The paper's sweeps are drawn above in the paper's layout; here only their tables.
    const genericFigures = !isPaperSweep(name);
    const complete = runs.filter((r) => r.status === "complete").length;
    const failed = runs.filter((r) => r.status === "failed");
    const incomplete = runs.filter((r) => r.status === "incomplete").length;
    md.push(`## ${name} (${sweep.kind})`, "");
    md.push(
      `Sweep folder: \`${relative(outDir, dir) || "."}\`. Runs: ${runs.length} (${complete} complete, ${failed.length} failed, ${incomplete} incomplete).`,
      "",
    );
    const sweepJson: Record<string, unknown> = {
      name,
      kind: sweep.kind,
      dir: relative(outDir, dir) || ".",
      runs: runs.length,
      complete,
      failed: failed.length,
      metrics: {},
    };
    for (const [i, { metric, source, title: metricTitle }] of reportMetrics(sweep.kind).entries()) {
      const groups = sortGroups(groupRuns(loaded, metric, source));
      if (groups.length === 0) continue;
      const best = sortGroups(bestLearningRates(groups));
      const slug = metric.replace(/[^a-z0-9]+/gi, "-");
      md.push(`### ${metricTitle} (\`${metric}\`)`, "");
      md.push(
        markdownTable(
          ["setting", "method", "best lr", "seeds", "final (last 10%)", "AUC"],
          best.map((g) => [
            g.setting,
            g.method,
            String(g.learningRate),
            String(g.runs.length),
            pm(g.final),
            pm(g.auc),
          ]),
        ),
        "",
      );
      if (genericFigures)
        await figure(
          curvesSpec(sweep.kind, `${name}: ${metricTitle}`, best, metric, source),
          `${name}-curves-${slug}`,
          `${name}: ${metricTitle}, mean ± SEM over seeds`,
        );
      const lrs = new Set(groups.map((g) => g.learningRate));
      const swept = groups.some((g) =>
        groups.some(
          (h) => h.method === g.method && h.setting === g.setting && h.learningRate !== g.learningRate,
        ),
      );
      if (i === 0 && swept) {
        const sortedLrs = [...lrs].sort((a, b) => a - b);
        const rows = [...new Set(groups.map((g) => `${g.setting}\u0000${g.method}`))].map((key) => {
          const [setting, method] = key.split("\u0000") as [string, string];
          return [
            setting,
            method,
            ...sortedLrs.map((lr) => {
              const g = groups.find(
                (x) => x.setting === setting && x.method === method && x.learningRate === lr,
              );
              return g === undefined ? "" : pm(g.auc);
            }),
          ];
        });
        md.push(`Learning-rate sensitivity (AUC of \`${metric}\`, mean ± SEM over seeds):`, "");
        md.push(markdownTable(["setting", "method", ...sortedLrs.map((lr) => `lr ${lr}`)], rows), "");
        if (genericFigures)
          await figure(
            lrSensitivitySpec(`${name}: learning-rate sensitivity`, groups, metric),
            `${name}-lr-auc`,
            `${name}: AUC of ${metric} against the learning rate`,
          );
      }
      (sweepJson.metrics as Record<string, unknown>)[metric] = groups.map((g) => ({
        setting: g.setting,
        method: g.method,
        learningRate: g.learningRate,
        seeds: g.runs.length,
        auc: g.auc,
        final: g.final,
        best: best.includes(g),
      }));
    }
    if (isDepthSweep(loaded)) {
      const rows = depthRows(loaded);
      md.push("### final test error and step time against depth (Fig. 4)", "");
      md.push(markdownTable([...DEPTH_TABLE_HEADER], depthTable(rows)), "");
      await figure(
        depthSpec(`${name}: test error and step time against depth`, rows),
        `${name}-depth`,
        `${name}: final test error and seconds per step against the number of hidden layers`,
      );
      await figure(
        depthCurvesSpec(`${name}: test accuracy by depth`, loaded),
        `${name}-depth-curves`,
        `${name}: test accuracy during training at each depth`,
      );
      sweepJson.depth = rows;
    }
    const theta = thetaSpec(sweep.kind, `${name}: theta dynamics`, runs);
    if (theta !== undefined && genericFigures) {
      md.push("### theta dynamics", "");
      await figure(theta, `${name}-theta`, `${name}: mixing weight theta during training (sgprop runs)`);
    }
    if (failed.length > 0) {
      md.push("### failed runs", "");
      md.push(
        markdownTable(
          ["run", "error"],
          failed.map((r) => [r.run.id, r.error ?? "?"]),
        ),
        "",
      );
    }
    json.push(sweepJson);
  }
  const markdown = join(outDir, "report.md");
  writeFileSync(markdown, `${md.join("\n")}\n`);
  const jsonPath = join(outDir, "report.json");
  writeJsonAtomic(jsonPath, { title, claims: claimResults, sweeps: json });
  return { markdown, figures, json: jsonPath, claims, claimResults };
}

/** The reference curves for overlays; none when the folder is absent (a trimmed install). */
function references(kind: "bandit" | "popgym"): ReferenceRun[] {
  try {
    return loadReferenceRuns(kind);
  } catch {
    return [];
  }
}

export function reportTitle(dirs: readonly string[]): string {
  return `sgprop report: ${dirs.map((d) => basename(d)).join(", ")}`;
}

export { textTable };
