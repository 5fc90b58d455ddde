import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { SweepFile } from "../sweep/spec.js";

/** The paper's sweep files shipped with the app (`apps/train/sweeps/*.yaml`). */
export const SWEEPS_DIR = join(dirname(fileURLToPath(import.meta.url)), "../../sweeps");

export const PAPER_SWEEPS = [
  "paper-bandit",
  "paper-bandit-ablations",
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

const quickBandit = { steps: 150, numEvals: 5, evalBatchSize: 500, width: 100 };
const quickPopgym = { batches: 12, numEnvs: 20, width: 64, numInputNeurons: 16, hiddenSize: 128 };

/** Scaled-down versions of every paper experiment (few seeds, steps and learning rates). */
export const QUICK_OVERRIDES: Readonly<Record<PaperSweep, QuickOverride>> = {
  "paper-bandit": {
    base: quickBandit,
    grid: { seed: [0, 1] },
    methods: {
      "sparse-sgprop": { grid: { learningRate: [0.001, 0.005] } },
      "sparse-backprop": { grid: { learningRate: [0.001, 0.005] } },
      mlp: { grid: { learningRate: [0.00002, 0.0001] } },
    },
    checkpointEvery: 50,
  },
  "paper-bandit-ablations": {
    base: quickBandit,
    grid: { pFlip: [0.2, 0.4], numParents: [5], seed: [0] },
    checkpointEvery: 50,
  },
  "paper-popgym-escape": {
    base: quickPopgym,
    grid: { numEnvs: [20], learningRate: [0.001, 0.004], seed: [0, 1] },
    methods: { lstm: null },
    checkpointEvery: 4,
  },
  "paper-popgym-explore": {
    base: quickPopgym,
    grid: { numEnvs: [20], learningRate: [0.001, 0.004], seed: [0] },
    methods: { lstm: null },
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
