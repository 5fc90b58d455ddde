import {
  type NamedTensorData,
  readCheckpointDir,
  type Trainer,
  type TrainerRows,
  writeCheckpointDir,
} from "@sgprop/agents";
import {
  CRITICAL_POINT_DEFAULTS,
  type CriticalPointOptions,
  type CriticalPointState,
  criticalPointLoss,
  criticalPointStep,
} from "../experiments/critical-point.js";
import { SURFACE_CONDITIONINGS, surfaceData, surfaceLearner } from "../experiments/loss-surface.js";
import { runTable2Cell, TABLE2_DEFAULTS } from "../experiments/table2.js";
import { type Linear64Learner, matrix64 } from "../linear64.js";
import type { ExperimentState } from "./experiment.js";
import { MnistRun } from "./mnist.js";
import { type DniTrainOptions, resolveDniOptions } from "./options.js";
import { RepresentationsRun } from "./representations.js";
import { table2Units } from "./units.js";

/** The Table 2 row's codes for its categorical columns. */
export const TABLE2_CODES = {
  depth: { shallow: 0, deep: 1 },
  loss: { mse: 0, logistic: 1 },
  kind: { linear: 0, noisy: 1, random: 2 },
} as const;

function criticalPoint(o: DniTrainOptions): ExperimentState {
  const cp: CriticalPointOptions = {
    ...CRITICAL_POINT_DEFAULTS,
    a0: o.a0,
    b0: o.b0,
    c0: o.c0,
    learningRate: o.learningRate,
    sgLearningRate: o.sgLearningRate ?? 10 * o.learningRate,
    steps: o.steps,
  };
  const start: CriticalPointState = {
    step: 0,
    a: o.a0,
    b: o.b0,
    c: o.c0,
    loss: criticalPointLoss(o.a0, o.b0),
  };
  let sg = start;
  let bp = start;
  return {
    total: o.steps,
    next(completed) {
      sg = criticalPointStep(sg, { ...cp, method: "sg" });
      bp = criticalPointStep(bp, { ...cp, method: "backprop" });
      return {
        train: {
          "charts/step": completed + 1,
          "critical/sg_a": sg.a,
          "critical/sg_b": sg.b,
          "critical/sg_c": sg.c,
          "critical/sg_loss": sg.loss,
          "critical/backprop_a": bp.a,
          "critical/backprop_b": bp.b,
          "critical/backprop_loss": bp.loss,
        },
      };
    },
    tensors: () => ({}),
    meta: () => ({ sg, bp }),
    load(_, meta) {
      ({ sg, bp } = meta as { sg: CriticalPointState; bp: CriticalPointState });
    },
    dispose() {},
  };
}

function table2(o: DniTrainOptions): ExperimentState {
  const units = table2Units(o.dims, o.datasets, o.models);
  return {
    total: units.length,
    next(completed) {
      const u = units[completed];
      if (u === undefined)
        throw new RangeError(`table2 has ${units.length} units, asked for ${completed + 1}`);
      const cell = {
        ...TABLE2_DEFAULTS,
        ...u,
        hiddenLayers: o.hiddenLayers,
        placement: o.sgPlacement,
        conditioning: o.conditioning,
        learningRate: o.learningRate,
        steps: o.steps,
        seed: o.seed,
      };
      const bp = runTable2Cell({ ...cell, method: "backprop" });
      const sg = runTable2Cell({ ...cell, method: "sg" });
      return {
        train: {
          "charts/step": completed + 1,
          "table2/k": u.k,
          "table2/deep": TABLE2_CODES.depth[u.depth],
          "table2/log_loss": TABLE2_CODES.loss[u.loss],
          "table2/data": TABLE2_CODES.kind[u.kind],
          "table2/dataset": u.index,
          "table2/optimum": sg.optimum,
          "table2/backprop_loss": bp.finalLoss,
          "table2/sg_loss": sg.finalLoss,
          "table2/backprop_gap": bp.gap,
          "table2/sg_gap": sg.gap,
        },
      };
    },
    // Each unit is computed from scratch from the seed: the unit counter is the whole state.
    tensors: () => ({}),
    meta: () => ({}),
    load() {},
    dispose() {},
  };
}

function lossSurface(o: DniTrainOptions): ExperimentState {
  const data = surfaceData(o.seed);
  const x = matrix64(data.n, 4, data.x);
  const y = matrix64(data.n, 2, data.y);
  const learners: Linear64Learner[] = SURFACE_CONDITIONINGS.map((c) =>
    surfaceLearner(c, o.learningRate, o.seed),
  );
  return {
    total: o.steps,
    next(completed) {
      const row: Record<string, number> = { "charts/step": completed + 1 };
      SURFACE_CONDITIONINGS.forEach((c, i) => {
        row[`surface/loss_${c}`] = (learners[i] as Linear64Learner).step(x, y);
      });
      return { train: row };
    },
    tensors() {
      const out: Record<string, NamedTensorData> = {};
      learners.forEach((l, i) => {
        for (const [name, a] of Object.entries(l.state().arrays)) {
          out[`${SURFACE_CONDITIONINGS[i]}/${name}`] = {
            dtype: "F64",
            shape: [a.length],
            data: Float64Array.from(a),
          };
        }
      });
      return out;
    },
    meta: () =>
      learners.map((l) => {
        const { steps, adamSteps, sgAdamSteps } = l.state();
        return {
          steps,
          adamSteps,
          sgAdamSteps,
          sg: l.sgModules().map((m) => ({ a: m.a && [...m.a], b: m.b && [...m.b], c: [...m.c] })),
        };
      }),
    load(tensors, meta) {
      const counts = meta as { steps: number; adamSteps: number; sgAdamSteps: number }[];
      learners.forEach((l, i) => {
        const prefix = `${SURFACE_CONDITIONINGS[i]}/`;
        const arrays = Object.fromEntries(
          Object.entries(tensors)
            .filter(([name]) => name.startsWith(prefix))
            .map(([name, t]) => [name.slice(prefix.length), t.data]),
        );
        l.loadState({ arrays, ...(counts[i] as { steps: number; adamSteps: number; sgAdamSteps: number }) });
      });
    },
    dispose() {},
  };
}

/**
 * A `sgprop train dni` run: one of the paper's experiments, advanced one unit at a time, with
 * checkpoints that continue it bit for bit (the Trainer contract of @sgprop/agents).
 */
export class DniTrainer implements Trainer {
  private done = 0;
  private constructor(
    readonly options: DniTrainOptions,
    private readonly state: ExperimentState,
  ) {}

  static async create(partial: Partial<DniTrainOptions>): Promise<DniTrainer> {
    const o = resolveDniOptions(partial);
    const state =
      o.experiment === "critical-point"
        ? criticalPoint(o)
        : o.experiment === "table2"
          ? table2(o)
          : o.experiment === "loss-surface"
            ? lossSurface(o)
            : o.experiment === "mnist"
              ? await MnistRun.create(o)
              : await RepresentationsRun.create(o);
    return new DniTrainer(o, state);
  }

  /** A trainer continued from a checkpoint folder written by {@link DniTrainer.saveCheckpoint}. */
  static async restore(dir: string, partial: Partial<DniTrainOptions>): Promise<DniTrainer> {
    const t = await DniTrainer.create(partial);
    const { tensors, meta } = await readCheckpointDir(dir);
    const m = meta as { completed: number; experiment: string; state: unknown };
    if (m.experiment !== t.options.experiment) {
      t.dispose();
      throw new RangeError(`checkpoint ${dir} is of experiment ${m.experiment}, not ${t.options.experiment}`);
    }
    t.state.load(tensors, m.state);
    t.done = m.completed;
    return t;
  }

  get completed(): number {
    return this.done;
  }

  get total(): number {
    return this.state.total;
  }

  async next(): Promise<TrainerRows> {
    const rows = this.state.next(this.done);
    this.done += 1;
    return rows;
  }

  async saveCheckpoint(dir: string): Promise<void> {
    await writeCheckpointDir(dir, this.state.tensors(), {
      completed: this.done,
      experiment: this.options.experiment,
      state: this.state.meta(),
    });
  }

  dispose(): void {
    this.state.dispose();
  }
}

export function createDniTrainer(options: Partial<DniTrainOptions>): Promise<DniTrainer> {
  return DniTrainer.create(options);
}

export function restoreDniTrainer(dir: string, options: Partial<DniTrainOptions>): Promise<DniTrainer> {
  return DniTrainer.restore(dir, options);
}
