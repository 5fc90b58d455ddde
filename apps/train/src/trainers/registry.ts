import { TrainerUnavailableError } from "../errors.js";
import type { TrainKind } from "../options/presets.js";
import { fakeTrainerFactory } from "./fake.js";
import type { Trainer, TrainerFactory, TrainerOptions } from "./types.js";

type CreateFn = (options: TrainerOptions) => Promise<Trainer>;
type RestoreFn = (dir: string, options?: TrainerOptions) => Promise<Trainer>;

/**
 * The trainer implementation for `kind`: @sgprop/agents, or the fake when `SGPROP_TRAINER=fake`
 * (tests, harness development). Never falls back to the fake silently.
 */
export async function trainerFactory(kind: TrainKind): Promise<TrainerFactory> {
  if (process.env.SGPROP_TRAINER === "fake") return fakeTrainerFactory(kind);
  const agents = (await import("@sgprop/agents")) as Record<string, unknown>;
  const suffix = kind === "popgym" ? "PopgymTrainer" : "BanditTrainer";
  const create = agents[`create${suffix}`];
  const restore = agents[`restore${suffix}`];
  if (typeof create !== "function" || typeof restore !== "function") {
    throw new TrainerUnavailableError(
      `@sgprop/agents does not export create${suffix}/restore${suffix} yet; set SGPROP_TRAINER=fake to exercise the harness`,
    );
  }
  const backendFn = agents.currentBackend ?? agents.getBackend;
  // @sgprop/agents does not depend on the environment packages: the bandit comes from here.
  const withEnv =
    kind === "bandit" ? await banditEnvironment() : (options: TrainerOptions): TrainerOptions => options;
  return {
    implementation: "agents",
    create: (options) => (create as CreateFn)(withEnv(options)),
    restore: (dir, options) => (restore as RestoreFn)(dir, withEnv(options)),
    backend: () => (typeof backendFn === "function" ? String((backendFn as () => unknown)()) : undefined),
  };
}

async function banditEnvironment(): Promise<(options: TrainerOptions) => TrainerOptions> {
  const { MnistBandit } = await import("@sgprop/mnist-bandit");
  return (options) => ({
    ...options,
    bandit: (o: { seed: number; pFlip: number; classes: readonly number[]; dataDir?: string }) =>
      new MnistBandit(o),
  });
}
