import {
  Box,
  Discrete,
  Env,
  type EnvCoreState,
  type Info,
  type ResetArgs,
  type StepResult,
} from "@sgprop/gym";
import type { MnistDataset } from "./dataset.js";
import { InvalidOptionError } from "./errors.js";
import {
  type ClassSubset,
  classSubset,
  DEFAULT_CLASSES,
  STANDARDIZED_MAX,
  STANDARDIZED_MIN,
} from "./preprocess.js";
import { assertPFlip } from "./reward.js";
import { type ContextBatch, ContextSampler, createContextBatch } from "./sampler.js";
import { type DataSourceOptions, resolveDataset } from "./source.js";

export interface MnistBanditEnvOptions extends DataSourceOptions {
  /** Classes that are actions, in action order. Default [0,1,3,4,5,6,7,8,9]. */
  classes?: readonly number[];
  /** Probability that the reward is flipped. Default 0.4; use 0 (with split "test") to evaluate. */
  pFlip?: number;
  /** Which split episodes draw their context from. Default "train". */
  split?: "train" | "test";
  /** Share a standardised float copy of the split (default true; see MnistBanditOptions). */
  precompute?: boolean;
}

/** A MnistBanditEnv checkpoint (see `Env.getState`): plain data, safe to structuredClone. */
export interface MnistBanditEnvState {
  readonly core: EnvCoreState;
  /** The current context's standardised pixels, its correct action and its row in the split. */
  readonly context: Float32Array;
  readonly label: number;
  readonly exampleIndex: number;
}

/**
 * The bandit as a one-step Gymnasium-style env: reset draws one context (uniformly, with
 * replacement, from the split) and step(action) returns the reward and terminates. Randomness
 * comes only from the env's generator, so reset({seed}) fixes the whole episode. Training loops
 * should prefer the batched {@link MnistBandit}; this env exists for gym tooling (vector envs,
 * the env checker, generic agents).
 *
 * Info: reset gives `exampleIndex` (row in the split); step adds `label` (the correct action),
 * `digit` (its class), `correct` (noiseless reward) and `flipped`.
 */
export class MnistBanditEnv extends Env<Float32Array, number> {
  readonly observationSpace: Box<"float32">;
  readonly actionSpace: Discrete;
  readonly dataset: MnistDataset;
  readonly subset: ClassSubset;
  readonly pFlip: number;
  readonly split: "train" | "test";
  private readonly sampler: ContextSampler;
  private readonly batch: ContextBatch;

  constructor(options: MnistBanditEnvOptions = {}) {
    super();
    this.pFlip = options.pFlip ?? 0.4;
    assertPFlip(this.pFlip);
    this.split = options.split ?? "train";
    if (this.split !== "train" && this.split !== "test") {
      throw new InvalidOptionError("split", this.split, '"train" or "test"');
    }
    this.dataset = resolveDataset(options);
    this.subset = classSubset(options.classes ?? DEFAULT_CLASSES, this.dataset.numClasses);
    this.sampler = new ContextSampler(
      this.dataset[this.split],
      this.subset,
      this.split,
      options.precompute ?? true,
    );
    this.batch = createContextBatch(1, this.sampler.contextSize);
    this.observationSpace = new Box(
      STANDARDIZED_MIN,
      STANDARDIZED_MAX,
      [this.sampler.contextSize],
      "float32",
    );
    this.actionSpace = new Discrete(this.subset.classes.length);
  }

  override reset(args?: ResetArgs): [Float32Array, Info] {
    super.reset(args);
    this.sampler.sample(this.batch, this.rng);
    return [this.batch.contexts.slice(), { exampleIndex: this.batch.exampleIndices[0] }];
  }

  step(action: number): StepResult<Float32Array> {
    const label = this.batch.labels[0] as number;
    const correct = action === label ? 1 : 0;
    const flipped = this.rng.float() < this.pFlip;
    const reward = flipped ? 1 - correct : correct;
    const info: Info = {
      exampleIndex: this.batch.exampleIndices[0],
      label,
      digit: this.subset.classes[label],
      correct,
      flipped,
    };
    return [this.batch.contexts.slice(), reward, true, false, info];
  }

  /** A checkpoint of the current context and of the env's generator (see `Env.getState`). */
  override getState(): MnistBanditEnvState {
    return {
      core: this.coreState(),
      context: this.batch.contexts.slice(),
      label: this.batch.labels[0] as number,
      exampleIndex: this.batch.exampleIndices[0] as number,
    };
  }

  /** Restores a checkpoint from {@link getState} (taken from an env with the same context size). */
  override setState(state: MnistBanditEnvState): void {
    if (state.context.length !== this.batch.contexts.length) {
      throw new RangeError(
        `MnistBanditEnv.setState: the context has ${state.context.length} pixels, this env's ${this.batch.contexts.length}`,
      );
    }
    this.batch.contexts.set(state.context);
    this.batch.labels[0] = state.label;
    this.batch.exampleIndices[0] = state.exampleIndex;
    this.restoreCoreState(state.core);
  }
}
