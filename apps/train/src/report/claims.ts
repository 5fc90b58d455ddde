import type { TrainKind } from "../options/presets.js";
import { formatNumber } from "../run/metrics.js";
import type { GroupStats } from "./aggregate.js";

/**
 * The paper's orderings of methods that a sweep can confirm or contradict, best first, by the
 * method labels of our paper sweep files. Bandit (Fig. 5/6a): sgprop > MLP > SparseNet backprop.
 */
export const PAPER_ORDERINGS: Readonly<Record<TrainKind, readonly (readonly string[])[]>> = {
  bandit: [["sparse-sgprop", "mlp", "sparse-backprop"]],
  popgym: [],
  // Table 2's ordering is checked by the package's own bench (packages/bp-lambda/bench).
  "bp-lambda": [],
};

export interface OrderingVerdict {
  readonly setting: string;
  readonly order: readonly string[];
  /** Whether the mean AUCs (at each method's best learning rate) are in the paper's order. */
  readonly holds: boolean;
  /** Whether every adjacent gap exceeds two combined standard errors. */
  readonly resolved: boolean;
  readonly text: string;
}

/** Checks each paper ordering of `kind` on the best-learning-rate groups of one sweep. */
export function checkOrderings(kind: TrainKind, best: readonly GroupStats[]): OrderingVerdict[] {
  const verdicts: OrderingVerdict[] = [];
  for (const order of PAPER_ORDERINGS[kind]) {
    for (const setting of [...new Set(best.map((g) => g.setting))]) {
      const groups = order.map((m) => best.find((g) => g.setting === setting && g.method === m));
      if (groups.some((g) => g === undefined || g.auc.n === 0)) continue;
      const gs = groups as GroupStats[];
      const pairs = gs.slice(1).map((g, i) => [gs[i] as GroupStats, g] as const);
      const holds = pairs.every(([a, b]) => a.auc.mean > b.auc.mean);
      const resolved = pairs.every(
        ([a, b]) => Math.abs(a.auc.mean - b.auc.mean) > 2 * Math.hypot(a.auc.sem, b.auc.sem),
      );
      const chain = gs
        .map((g) => `${g.method} ${formatNumber(g.auc.mean)} ± ${formatNumber(g.auc.sem)}`)
        .join(" > ");
      const verdict = holds
        ? resolved
          ? "holds"
          : "holds on the means, but a gap is within 2 standard errors (more seeds needed)"
        : "does NOT hold in this run";
      const where = setting === "all" ? "" : ` (${setting})`;
      verdicts.push({
        setting,
        order,
        holds,
        resolved,
        text: `Paper ordering ${order.join(" > ")}${where}: ${verdict}. AUC of the eval reward, mean ± SEM over seeds at each method's best learning rate: ${chain}.`,
      });
    }
  }
  return verdicts;
}
