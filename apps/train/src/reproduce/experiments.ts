import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { SweepFile } from "../sweep/spec.js";

/** The paper's sweep files shipped with the app (`apps/train/sweeps/*.yaml`). */
export const SWEEPS_DIR = join(dirname(fileURLToPath(import.meta.url)), "../../sweeps");

/** One sweep file per figure of the paper, mirroring the authors' scripts (see each file's header). */
export const PAPER_SWEEPS = [
  "paper-bandit-lr",
  "paper-bandit-pflip",
  "paper-bandit-parents",
  "paper-bandit-fixed-theta",
  "paper-popgym-escape",
  "paper-popgym-explore",
] as const;
export type PaperSweep = (typeof PAPER_SWEEPS)[number];

export function paperSweepPath(name: PaperSweep): string {
  return join(SWEEPS_DIR, `${name}.yaml`);
}

/** How `--quick` scales a paper sweep down: merged base settings, replaced grid axes, dropped methods. */
export interface QuickOverride {
  readonly base?: Record<string, unknown>;
  readonly grid?: Record<string, unknown[]>;
  /** Per method: replaced grid axes, or null to drop the method. */
  readonly methods?: Record<string, { grid?: Record<string, unknown[]> } | null>;
  readonly checkpointEvery?: number;
}

/**
 * `--quick`: every figure at a toy scale, sized to finish in 10-15 minutes on a shared 2-core machine
 * (QUICK_BUDGET): 40 bandit steps of a width-32 SparseNet (4 evaluations of 200 contexts), 8 POPGym
 * batches of a width-32 SparseNet and hidden-64 GRU/LSTM, 2-3 seeds, 2 learning rates per method, the
 * ablations at one value besides the base point. It shows the pipeline, not the paper's conclusions.
 */
export const QUICK_BUDGET =
  "118 runs, budget 10-15 minutes on a 2-core machine shared with a few other jobs (measured: 22.7 min at load average 15-25)";
const quickBandit = { steps: 40, numEvals: 4, evalBatchSize: 200, width: 32 };
const quickPopgym = { batches: 8, width: 32, numInputNeurons: 8, hiddenSize: 64 };
const quickSeeds = [0, 1, 2];

export const QUICK_OVERRIDES: Readonly<Record<PaperSweep, QuickOverride>> = {
  "paper-bandit-lr": {
    base: quickBandit,
    grid: { seed: quickSeeds },
    methods: {
      sparse_sgprop_fixed_theta: { grid: { learningRate: [0.001, 0.005] } },
      sparse_sgprop_adaptive: { grid: { learningRate: [0.001, 0.005] } },
      sparse_backprop: { grid: { learningRate: [0.001, 0.005] } },
      mlp: { grid: { learningRate: [0.00002, 0.0001] } },
    },
    checkpointEvery: 20,
  },
  "paper-bandit-pflip": {
    base: quickBandit,
    grid: { pFlip: [0], seed: quickSeeds },
    checkpointEvery: 20,
  },
  "paper-bandit-parents": {
    base: quickBandit,
    grid: { numParents: [2], seed: quickSeeds },
    checkpointEvery: 20,
  },
  "paper-bandit-fixed-theta": {
    base: quickBandit,
    grid: { thetaInit: [0, 0.5, 1.0], seed: quickSeeds },
    checkpointEvery: 20,
  },
  "paper-popgym-escape": {
    base: quickPopgym,
    grid: { numEnvs: [20, 40], learningRate: [0.001, 0.004], seed: [0, 1] },
    checkpointEvery: 4,
  },
  "paper-popgym-explore": {
    base: quickPopgym,
    grid: { numEnvs: [20, 40], learningRate: [0.001, 0.004], seed: [0, 1] },
    checkpointEvery: 4,
  },
};

export function applyQuick(file: SweepFile, o: QuickOverride): SweepFile {
  const methods: Record<string, Record<string, unknown>> = {};
  for (const [label, settings] of Object.entries(file.methods ?? {})) {
    const override = o.methods?.[label];
    if (override === null) continue;
    const grid = {
      ...((settings.grid as Record<string, unknown[]> | undefined) ?? {}),
      ...(override?.grid ?? {}),
    };
    methods[label] = { ...settings, ...(Object.keys(grid).length > 0 ? { grid } : {}) };
  }
  return {
    ...file,
    name: `${file.name}-quick`,
    base: { ...(file.base ?? {}), ...(o.base ?? {}) },
    ...(file.methods === undefined ? {} : { methods }),
    grid: { ...(file.grid ?? {}), ...(o.grid ?? {}) },
    ...(o.checkpointEvery === undefined ? {} : { checkpointEvery: o.checkpointEvery }),
  };
}

/** Expert-network simulation settings: paper (Appendix H.1) and quick. */
export const EXPERT_SIM = {
  full: {},
  quick: { dims: [4, 5, 6, 7, 8], trials: 10, bootstrapResamples: 200 },
} as const;
