import type { TrainKind } from "../options/presets.js";
import type { VegaLiteSpec } from "../plot/index.js";
import { unitColumn } from "../run/metrics.js";
import type { ReferenceRun } from "../validate/reference.js";
import { meanCurve, seriesOf } from "./aggregate.js";
import { type BandRow, bandChart, FORMATS, type PointRow, pointChart } from "./chart.js";
import type { LoadedRun, LoadedSweep } from "./load.js";
import {
  atLr,
  BANDIT_BASE_LR,
  BANDIT_METHODS,
  basePointRuns,
  bestLr,
  evalRewardAuc,
  finalEvalReward,
  groupBy,
  label,
  num,
  type PaperSweeps,
  POPGYM_METHODS,
  runsOf,
  successAuc,
  summary,
} from "./paper-data.js";

/** A figure of the paper, ready to render, with the text report.md shows under it. */
export interface PaperFigure {
  readonly name: string;
  readonly caption: string;
  readonly spec: VegaLiteSpec;
  /** Which runs each line uses (best learning rates and the like). */
  readonly notes: readonly string[];
}

/** Reference method names (reference-curves/) -> ours. */
const REFERENCE_METHODS: Readonly<Record<string, string>> = {
  sgprop_adaptive: "sparse_sgprop_adaptive",
  sparse_backprop: "sparse_backprop",
  mlp: "mlp",
  gru: "gru",
  sparsenet_backprop: "sparsenet_backprop",
  sparsenet_sgprop_adaptive: "sparsenet_sgprop_adaptive",
};

const lrText = (lr: number) => lr.toExponential(0);

function curveRows(
  runs: readonly LoadedRun[],
  kind: TrainKind,
  metric: string,
  source: "train" | "eval",
  panel: string,
  series: string,
): BandRow[] {
  return meanCurve(runs.map((r) => seriesOf(r, kind, metric, source))).map((p) => ({
    panel,
    series,
    source: "ours",
    x: p.unit,
    mean: p.mean,
    lo: p.mean - p.sem,
    hi: p.mean + p.sem,
  }));
}

/** The reference's mean +/- SEM over its seeds, clipped to the x range our runs cover. */
function referenceRows(
  refs: readonly ReferenceRun[],
  method: string,
  panel: string,
  maxX: number,
): BandRow[] {
  const mine = refs.filter((r) => REFERENCE_METHODS[r.method] === method);
  if (mine.length === 0) return [];
  const series = mine.map((r) => r.units.map((unit, i) => ({ unit, value: r.values[i] as number })));
  return meanCurve(series)
    .filter((p) => p.unit <= maxX)
    .map((p) => ({
      panel,
      series: label(method),
      source: "paper's code",
      x: p.unit,
      mean: p.mean,
      lo: p.mean - p.sem,
      hi: p.mean + p.sem,
    }));
}

function pointRows(
  groups: readonly [number, LoadedRun[]][],
  score: (r: LoadedRun) => number,
  panel: string,
  series: string,
): PointRow[] {
  return groups.map(([x, runs]) => {
    const s = summary(runs.map(score));
    return { panel, series, x, mean: s.mean, lo: s.mean - s.sem, hi: s.mean + s.sem, n: s.n };
  });
}

const maxX = (rows: readonly BandRow[]) => Math.max(0, ...rows.map((r) => r.x));
const STEP = { xTitle: "training step", xFormat: FORMATS.count } as const;
const ORDER = BANDIT_METHODS.map(label);

function fig5(p: PaperSweeps, refs: readonly ReferenceRun[]): PaperFigure | undefined {
  const rows: BandRow[] = [];
  const notes: string[] = [];
  for (const m of BANDIT_METHODS) {
    const lr = BANDIT_BASE_LR[m] as number;
    const runs = runsOf(p.banditLr, m, atLr(lr));
    if (runs.length === 0) continue;
    rows.push(...curveRows(runs, "bandit", "eval/reward", "eval", "all", label(m)));
    notes.push(`${label(m)}: lr ${lrText(lr)}, ${runs.length} seed(s)`);
  }
  if (rows.length === 0) return undefined;
  const ours = maxX(rows);
  for (const m of BANDIT_METHODS) rows.push(...referenceRows(refs, m, "all", ours));
  return {
    name: "fig5-bandit-curves",
    caption: "Fig. 5: MNIST bandit, eval reward during training (base learning rates)",
    spec: bandChart(rows, {
      title: "Fig. 5 - MNIST bandit: eval reward",
      subtitle:
        "mean +/- SEM over seeds at each method's base lr; dashed: the paper's code (reference-curves/)",
      ...STEP,
      yTitle: "eval reward (noiseless, held-out)",
      yFormat: FORMATS.decimal,
      seriesOrder: ORDER,
      width: 420,
      height: 260,
    }),
    notes,
  };
}

function fig6a(p: PaperSweeps): PaperFigure | undefined {
  const rows: PointRow[] = [];
  const sparseLrs = new Set<number>();
  const mlpLrs = new Set<number>();
  for (const m of BANDIT_METHODS) {
    for (const r of runsOf(p.banditLr, m)) (m === "mlp" ? mlpLrs : sparseLrs).add(num(r, "learningRate"));
  }
  const sparse = [...sparseLrs].sort((a, b) => a - b);
  const mlp = [...mlpLrs].sort((a, b) => a - b);
  for (const m of BANDIT_METHODS) {
    const lrs = m === "mlp" ? mlp : sparse;
    const groups = groupBy(runsOf(p.banditLr, m), (r) => lrs.indexOf(num(r, "learningRate")));
    rows.push(...pointRows(groups, finalEvalReward, "final eval reward", label(m)));
    rows.push(...pointRows(groups, evalRewardAuc, "AUC of the eval reward", label(m)));
  }
  if (rows.length === 0) return undefined;
  const n = Math.max(sparse.length, mlp.length);
  const labels = Array.from({ length: n }, (_, i) =>
    [
      sparse[i] === undefined ? "" : lrText(sparse[i] as number),
      mlp[i] === undefined ? "" : `MLP ${lrText(mlp[i] as number)}`,
    ].join("|"),
  );
  return {
    name: "fig6a-bandit-lr",
    caption: "Fig. 6a: MNIST bandit, final eval reward and its AUC against the policy learning rate",
    spec: pointChart(rows, {
      title: "Fig. 6a - MNIST bandit: learning-rate sensitivity",
      subtitle:
        "mean +/- SEM over seeds; x: SparseNet lr (top line) and MLP lr (bottom line) at the same position",
      xTitle: "policy learning rate",
      xFormat: "d",
      xValues: labels.map((_, i) => i),
      xLabelExpr: `split(${JSON.stringify(labels)}[datum.value], '|')`,
      yTitle: "eval reward",
      yFormat: FORMATS.decimal,
      independentY: true,
      seriesOrder: ORDER,
    }),
    notes: [`SparseNet lrs ${sparse.map(lrText).join(", ")}; MLP lrs ${mlp.map(lrText).join(", ")}`],
  };
}

function ablationFigure(
  p: PaperSweeps,
  ablation: LoadedSweep | undefined,
  key: "pFlip" | "numParents",
): PaperFigure | undefined {
  if (ablation === undefined) return undefined;
  const methods = key === "pFlip" ? BANDIT_METHODS : BANDIT_METHODS.filter((m) => m !== "mlp");
  const rows: PointRow[] = [];
  for (const m of methods) {
    const runs = [...runsOf(ablation, m), ...basePointRuns(p.banditLr, ablation, m)];
    rows.push(
      ...pointRows(
        groupBy(runs, (r) => num(r, key)),
        finalEvalReward,
        "all",
        label(m),
      ),
    );
  }
  if (rows.length === 0) return undefined;
  const flip = key === "pFlip";
  return {
    name: flip ? "fig6b-bandit-pflip" : "fig6c-bandit-parents",
    caption: flip
      ? "Fig. 6b: MNIST bandit, final eval reward against the reward-flip probability"
      : "Fig. 6c: MNIST bandit, final eval reward against the number of parents per neuron",
    spec: pointChart(rows, {
      title: flip ? "Fig. 6b - MNIST bandit: reward noise" : "Fig. 6c - MNIST bandit: parents per neuron",
      subtitle: "final eval reward, mean +/- SEM over seeds, each method at its base lr",
      xTitle: flip ? "pFlip (probability a training reward is flipped)" : "parents per neuron",
      xFormat: flip ? FORMATS.decimal : "d",
      yTitle: "final eval reward",
      yFormat: FORMATS.decimal,
      seriesOrder: ORDER,
      width: 380,
      height: 240,
    }),
    notes: [
      `${flip ? "pFlip 0.4" : "5 parents"} is the base-lr run of paper-bandit-lr (run once, as issue 18 asks)`,
    ],
  };
}

function thetaLayerRows(
  runs: readonly LoadedRun[],
  panel: string,
  name: (layer: string) => string,
): BandRow[] {
  const columns = Object.keys(runs[0]?.train[0] ?? {}).filter((c) => c.startsWith("sgprop/theta_mean_"));
  return columns.flatMap((c) =>
    curveRows(runs, "bandit", c, "train", panel, name(c.slice("sgprop/theta_mean_".length))),
  );
}

/** Layer-averaged theta of each run, as a one-column series. */
function layerMeanRows(runs: readonly LoadedRun[], panel: string, series: string): BandRow[] {
  const perRun = runs.map((r) => {
    const cols = Object.keys(r.train[0] ?? {}).filter((c) => c.startsWith("sgprop/theta_mean_"));
    return r.train
      .map((row) => ({
        unit: row[unitColumn("bandit")] ?? Number.NaN,
        value: cols.reduce((a, c) => a + (row[c] ?? Number.NaN), 0) / cols.length,
      }))
      .filter((q) => Number.isFinite(q.unit) && Number.isFinite(q.value));
  });
  return meanCurve(perRun).map((q) => ({
    panel,
    series,
    source: "ours",
    x: q.unit,
    mean: q.mean,
    lo: q.mean - q.sem,
    hi: q.mean + q.sem,
  }));
}

function fig6d(p: PaperSweeps): PaperFigure | undefined {
  const m = "sparse_sgprop_adaptive";
  const base = runsOf(p.banditLr, m, atLr(BANDIT_BASE_LR[m] as number));
  const rows = thetaLayerRows(base, "per layer (pFlip 0.4)", (l) => `layer ${l}`);
  const flips = groupBy([...runsOf(p.banditPflip, m), ...basePointRuns(p.banditLr, p.banditPflip, m)], (r) =>
    num(r, "pFlip"),
  );
  for (const [flip, runs] of flips)
    rows.push(...layerMeanRows(runs, "layer mean, by pFlip", `pFlip ${flip}`));
  if (rows.length === 0) return undefined;
  return {
    name: "fig6d-bandit-theta",
    caption: "Fig. 6d: MNIST bandit, adaptive theta along training",
    spec: bandChart(rows, {
      title: "Fig. 6d - MNIST bandit: adaptive theta",
      subtitle:
        "SparseNet sgprop, adaptive theta, lr 5e-3; mean +/- SEM over seeds of each layer's mean theta",
      ...STEP,
      yTitle: "theta",
      yFormat: FORMATS.decimal,
      independentY: true,
    }),
    notes: [`${base.length} seed(s) at pFlip 0.4`],
  };
}

function fig2c(p: PaperSweeps): PaperFigure | undefined {
  const rows: BandRow[] = [];
  const add = (runs: LoadedRun[], series: string) => {
    if (runs.length > 0) rows.push(...curveRows(runs, "bandit", "eval/reward", "eval", "all", series));
  };
  add(runsOf(p.banditLr, "sparse_sgprop_adaptive", atLr(5e-3)), "adaptive theta");
  for (const [theta, runs] of groupBy(runsOf(p.banditFixedTheta, "sparse_sgprop_fixed_theta"), (r) =>
    num(r, "thetaInit"),
  ))
    add(runs, `theta = ${theta}`);
  add(runsOf(p.banditLr, "sparse_backprop", atLr(1e-3)), "backprop (theta = 1, lr 1e-3)");
  if (p.banditFixedTheta === undefined || rows.length === 0) return undefined;
  return {
    name: "fig2c-bandit-fixed-theta",
    caption: "Fig. 2c: MNIST bandit, fixed theta against adaptive theta",
    spec: bandChart(rows, {
      title: "Fig. 2c - MNIST bandit: fixed vs adaptive theta",
      subtitle:
        "sgprop at lr 5e-3 (theta fixed in every layer, momentum 1.0) and SparseNet backprop at lr 1e-3; mean +/- SEM",
      ...STEP,
      yTitle: "eval reward",
      yFormat: FORMATS.decimal,
      width: 420,
      height: 260,
    }),
    notes: ["adaptive and backprop lines: runs of paper-bandit-lr, as plot_theta_ablation.py does"],
  };
}

function popgymPanels(p: PaperSweeps): { env: string; sweep: LoadedSweep; numEnvs: number; panel: string }[] {
  const out: { env: string; sweep: LoadedSweep; numEnvs: number; panel: string }[] = [];
  for (const [env, sweep] of p.popgym) {
    const counts = [...new Set(sweep.runs.map((r) => num(r, "numEnvs")))].sort((a, b) => a - b);
    for (const n of counts)
      out.push({ env, sweep, numEnvs: n, panel: `${env === "escape" ? "Escape" : "Explore"}, ${n} envs` });
  }
  return out;
}

function fig3And7(p: PaperSweeps, refs: readonly ReferenceRun[]): PaperFigure[] {
  const curves: BandRow[] = [];
  const lrPoints: PointRow[] = [];
  const theta: BandRow[] = [];
  const notes: string[] = [];
  for (const { env, sweep, numEnvs, panel } of popgymPanels(p)) {
    const here = (r: LoadedRun) => num(r, "numEnvs") === numEnvs;
    const chosen: string[] = [];
    for (const m of POPGYM_METHODS) {
      const best = bestLr(sweep, m, successAuc, here);
      if (best === undefined) continue;
      chosen.push(`${label(m)} ${lrText(best.lr)}`);
      curves.push(...curveRows(best.runs, "popgym", "charts/success_rate", "train", panel, label(m)));
      lrPoints.push(
        ...pointRows(
          groupBy(runsOf(sweep, m, here), (r) => num(r, "learningRate")),
          successAuc,
          panel,
          label(m),
        ),
      );
      if (m === "sparsenet_sgprop_adaptive") {
        for (const [stat, name] of [
          ["sgprop/theta_mean", "mean"],
          ["sgprop/theta_p10", "10th percentile"],
          ["sgprop/theta_p50", "median"],
          ["sgprop/theta_p90", "90th percentile"],
        ] as const)
          theta.push(
            ...curveRows(best.runs, "popgym", stat, "train", `${panel} (lr ${lrText(best.lr)})`, name),
          );
      }
    }
    if (env === "escape" && numEnvs === 20) {
      const ours = maxX(curves.filter((r) => r.panel === panel));
      for (const m of POPGYM_METHODS) curves.push(...referenceRows(refs, m, panel, ours));
    }
    notes.push(`${panel}, best lr by success AUC: ${chosen.join("; ")}`);
  }
  if (curves.length === 0) return [];
  const order = POPGYM_METHODS.map(label);
  const figures: PaperFigure[] = [
    {
      name: "fig3-popgym-curves",
      caption: "Fig. 3: POPGym labyrinths, success rate during training",
      spec: bandChart(curves, {
        title: "Fig. 3 - POPGym labyrinths: success rate",
        subtitle:
          "mean +/- SEM over seeds, each model at its best lr (by success AUC); dashed: the paper's code at lr 1e-3",
        xTitle: "batch",
        xFormat: FORMATS.count,
        yTitle: "success rate",
        yFormat: FORMATS.decimal,
        seriesOrder: order,
      }),
      notes,
    },
    {
      name: "fig7-popgym-lr",
      caption: "Fig. 7: POPGym labyrinths, success AUC against the learning rate",
      spec: pointChart(lrPoints, {
        title: "Fig. 7 - POPGym labyrinths: learning-rate sensitivity",
        subtitle: "success AUC (success rate averaged over batches), mean +/- SEM over seeds",
        xTitle: "learning rate",
        xFormat: FORMATS.rate,
        xLog: true,
        xValues: [...new Set(lrPoints.map((r) => r.x))].sort((a, b) => a - b),
        yTitle: "success AUC",
        yFormat: FORMATS.decimal,
        seriesOrder: order,
      }),
      notes: [],
    },
  ];
  if (theta.length > 0)
    figures.push({
      name: "fig7-popgym-theta",
      caption: "Fig. 7: POPGym labyrinths, adaptive theta of SparseNet sgprop along training",
      spec: bandChart(theta, {
        title: "Fig. 7 - POPGym: adaptive theta",
        subtitle: "per-neuron theta statistics, mean +/- SEM over seeds, at sgprop's best lr",
        xTitle: "batch",
        xFormat: FORMATS.count,
        yTitle: "theta",
        yFormat: FORMATS.decimal,
        seriesOrder: ["90th percentile", "median", "mean", "10th percentile"],
      }),
      notes: [],
    });
  return figures;
}

/** Every paper figure the loaded sweeps can draw, in the paper's order. */
export function paperFigures(
  p: PaperSweeps,
  refs: { bandit: readonly ReferenceRun[]; popgym: readonly ReferenceRun[] },
): PaperFigure[] {
  const [fig3, ...fig7] = fig3And7(p, refs.popgym);
  return [
    fig2c(p),
    fig3,
    fig5(p, refs.bandit),
    fig6a(p),
    ablationFigure(p, p.banditPflip, "pFlip"),
    ablationFigure(p, p.banditParents, "numParents"),
    fig6d(p),
    ...fig7,
  ].filter((f): f is PaperFigure => f !== undefined);
}
