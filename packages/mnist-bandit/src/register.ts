import { register, registry } from "@sgprop/gym";
import { MnistBanditEnv, type MnistBanditEnvOptions } from "./env.js";
import { DEFAULT_CLASSES } from "./preprocess.js";

export const MNIST_BANDIT_ENV_ID = "mnist-bandit/MNISTBandit-v0";

declare module "@sgprop/gym" {
  interface RegisteredEnvs {
    "mnist-bandit/MNISTBandit-v0": MnistBanditEnv;
  }
}

/**
 * Registers `mnist-bandit/MNISTBandit-v0` (the paper's setting: bundled digits, nine classes,
 * pFlip 0.4, train split) in @sgprop/gym's registry. Safe to call more than once. `make(id, kwargs)`
 * accepts any {@link MnistBanditEnvOptions}, e.g. `{ split: "test", pFlip: 0 }` or `{ dataDir }`.
 */
export function registerMnistBanditEnvs(): void {
  if (registry().some((s) => s.id === MNIST_BANDIT_ENV_ID)) return;
  register<MnistBanditEnvOptions, MnistBanditEnv>({
    id: MNIST_BANDIT_ENV_ID,
    entryPoint: (kwargs) => new MnistBanditEnv(kwargs),
    kwargs: { classes: [...DEFAULT_CLASSES], pFlip: 0.4, split: "train" },
  });
}
