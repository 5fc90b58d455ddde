import type { BanditTrainOptions, PopgymTrainOptions } from "@sgprop/agents";
import type { DniTrainOptions } from "@sgprop/dni";
import type { TrainKind } from "../options/presets.js";
import { fakeTrainerFactory } from "./fake.js";
import type { TrainerFactory, TrainerOptions } from "./types.js";

/**
 * The trainer implementation for `kind`: @sgprop/agents, or the fake when `SGPROP_TRAINER=fake`
 * (tests, harness development). Never falls back to the fake silently. @sgprop/agents (and with it
 * TensorFlow.js) is loaded only when a real trainer is asked for.
 */
export async function trainerFactory(kind: TrainKind): Promise<TrainerFactory> {
  if (process.env.SGPROP_TRAINER === "fake") return fakeTrainerFactory(kind);
  const agents = await import("@sgprop/agents");
  const backend = () => agents.currentBackend();
  if (kind === "dni") {
    // Options were validated against the table of options/dni.ts, whose keys are DniTrainOptions'.
    const dni = await import("@sgprop/dni");
    const typed = (o: TrainerOptions) => o as Partial<DniTrainOptions>;
    return {
      implementation: "dni",
      create: (o) => dni.createDniTrainer(typed(o)),
      restore: (dir, o) => dni.restoreDniTrainer(dir, typed(o)),
      backend,
    };
  }
  if (kind === "popgym") {
    // Options were validated against the same table as PopgymTrainOptions (see options/popgym.ts).
    // @sgprop/agents does not depend on the environment packages: the vector env comes from here.
    const { LabyrinthVectorEnv } = await import("@sgprop/popgym");
    const typed = (o: TrainerOptions) =>
      ({
        ...o,
        envFactory: (spec: ConstructorParameters<typeof LabyrinthVectorEnv>[0]) =>
          new LabyrinthVectorEnv(spec),
      }) as unknown as Partial<PopgymTrainOptions>;
    return {
      implementation: "agents",
      create: (o) => agents.createPopgymTrainer(typed(o)),
      restore: (dir, o) => agents.restorePopgymTrainer(dir, typed(o)),
      backend,
    };
  }
  // @sgprop/agents does not depend on the environment packages: the bandit comes from here.
  const { MnistBandit } = await import("@sgprop/mnist-bandit");
  const withBandit = (o: TrainerOptions) =>
    ({
      ...o,
      bandit: (env: ConstructorParameters<typeof MnistBandit>[0]) => new MnistBandit(env),
    }) as unknown as BanditTrainOptions;
  return {
    implementation: "agents",
    create: (o) => agents.createBanditTrainer(withBandit(o)),
    restore: (dir, o) => agents.restoreBanditTrainer(dir, withBandit(o)),
    backend,
  };
}
