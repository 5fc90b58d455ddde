import { crossCopyClass } from "./cross-copy.js";
import { ActionOutOfSpaceError, ResetNeededError } from "./errors.js";
import { assertSeed, InvalidSeedError, Rng } from "./random.js";
import { nextDefaultSeed, type Space } from "./spaces/space.js";

export type Info = Record<string, unknown>;

export interface ResetArgs<O = Record<string, unknown>> {
  /** Re-creates the env's generator from this seed (a non-negative safe integer). */
  seed?: number;
  options?: O;
}

export type StepResult<Obs> = [obs: Obs, reward: number, terminated: boolean, truncated: boolean, info: Info];

export interface EnvMetadata {
  renderModes: readonly string[];
  renderFps?: number;
}

export interface EnvSpec {
  /** `[namespace/]Name-vN` */
  id: string;
  /** Keyword arguments given to the entry point (registered defaults merged with overrides). */
  kwargs: Record<string, unknown>;
  /** When set, `make` wraps the env in `TimeLimit(env, maxEpisodeSteps)`. */
  maxEpisodeSteps?: number;
}

/**
 * What the base class contributes to a checkpoint (see {@link Env.getState}): its generator's
 * state (null when it was never created) and whether the next step would be refused.
 */
export interface EnvCoreState {
  readonly rng: readonly number[] | null;
  readonly needsReset: "never-reset" | "episode-over" | null;
}

/** An env that implements the optional checkpoint pair of {@link Env}. */
export type CheckpointableEnv<Obs, Act, S = unknown> = Env<Obs, Act> & {
  getState(): S;
  setState(state: S): void;
};

/** Whether `env` implements both `getState` and `setState`. */
export function isCheckpointable<Obs, Act>(env: Env<Obs, Act>): env is CheckpointableEnv<Obs, Act> {
  return typeof env.getState === "function" && typeof env.setState === "function";
}

/** Lets Wrapper (in another module) reach the wrapped env's generator without making it public. */
export const RNG_OF: unique symbol = Symbol("Env.rng");

type StepFn<Obs, Act> = (action: Act) => StepResult<Obs>;
type ResetFn<Obs, R> = (args?: ResetArgs<R>) => [Obs, Info];

/**
 * An environment, like `gymnasium.Env`. Subclasses declare `observationSpace` and `actionSpace`,
 * implement `step`, and override `reset` calling `super.reset(args)` first (which applies the seed).
 *
 * Every env enforces the contract on its public `step`/`reset`, whatever the subclass does:
 * `step` throws ActionOutOfSpaceError for actions outside `actionSpace` and ResetNeededError before
 * the first reset or after the episode ended; `reset` throws InvalidSeedError for bad seeds. These
 * checks run before the subclass code, so a rejected call changes nothing.
 */
export abstract class Env<Obs, Act, ResetOpts = Record<string, unknown>> {
  abstract readonly observationSpace: Space<Obs>;
  abstract readonly actionSpace: Space<Act>;
  metadata: EnvMetadata = { renderModes: [] };
  spec: EnvSpec | undefined = undefined;
  renderMode: string | undefined = undefined;

  #rng: Rng | undefined;
  #needsReset: "never-reset" | "episode-over" | undefined = "never-reset";

  constructor() {
    // The subclass's step/reset are already on the prototype chain here; wrap them in own
    // properties so the checks above hold for every subclass without its cooperation.
    const self = this as unknown as { step: StepFn<Obs, Act>; reset: ResetFn<Obs, ResetOpts> };
    const step = self.step;
    const reset = self.reset;
    Object.defineProperty(this, "step", {
      value: (action: Act) => this.#guardedStep(step, action),
      writable: true,
      configurable: true,
    });
    Object.defineProperty(this, "reset", {
      value: (args?: ResetArgs<ResetOpts>) => this.#guardedReset(reset, args),
      writable: true,
      configurable: true,
    });
  }

  #guardedStep(step: StepFn<Obs, Act>, action: Act): StepResult<Obs> {
    if (this.#needsReset !== undefined) throw new ResetNeededError(this.constructor.name, this.#needsReset);
    const space = this.actionSpace;
    const why = space.mismatch(action);
    if (why !== undefined) throw new ActionOutOfSpaceError(space, action, why);
    const result = step.call(this, action);
    if (result[2] || result[3]) this.#needsReset = "episode-over";
    return result;
  }

  #guardedReset(reset: ResetFn<Obs, ResetOpts>, args: ResetArgs<ResetOpts> | undefined): [Obs, Info] {
    if (reset === Env.prototype.reset) {
      throw new TypeError(`${this.constructor.name} must override reset() and return [observation, info]`);
    }
    if (args?.seed !== undefined) assertSeed(args.seed);
    const rngBefore = this.#rng;
    // Seeding here rather than only in the base reset keeps seeds effective even in a subclass
    // that forgets super.reset(args).
    if (args?.seed !== undefined) this.#rng = Rng.fromSeed(args.seed);
    try {
      const result = reset.call(this, args);
      this.#needsReset = undefined;
      return result;
    } catch (e) {
      this.#rng = rngBefore;
      throw e;
    }
  }

  /** The env's own generator; (re)created by `reset({seed})`, else from a default seed on first use. */
  protected get rng(): Rng {
    return this[RNG_OF]();
  }

  /** @internal */
  [RNG_OF](): Rng {
    this.#rng ??= Rng.fromSeed(nextDefaultSeed());
    return this.#rng;
  }

  /**
   * Subclasses override this, call `super.reset(args)` first (as in Gymnasium), then return the
   * first observation and info. The seed has already been checked and applied to `rng` when the
   * subclass code runs; the base implementation returns nothing meaningful.
   */
  reset(args?: ResetArgs<ResetOpts>): [Obs, Info] {
    if (args?.seed !== undefined) assertSeed(args.seed);
    return undefined as unknown as [Obs, Info];
  }

  /**
   * Optional checkpointing, implemented together with {@link setState}. Returns plain data
   * (numbers, strings, booleans, null, arrays, typed arrays, plain objects; it must survive
   * `structuredClone` and must not alias live state) holding everything that decides the env's
   * future: the episode state, its generators, and {@link coreState}. `setState(s)` on this env, or
   * on a fresh one built by the same factory, makes it continue exactly as the env did after
   * `getState()` returned `s`, mid-episode or not. `envProperties` (from "@sgprop/gym/testing")
   * checks this for every env that implements the pair. Wrappers do not forward it.
   */
  getState?(): unknown;

  /** Restores a state returned by {@link getState} (see there). */
  setState?(state: unknown): void;

  /** The base class's part of a checkpoint; checkpointable envs put it into their `getState()`. */
  protected coreState(): EnvCoreState {
    return { rng: this.#rng === undefined ? null : this.#rng.state(), needsReset: this.#needsReset ?? null };
  }

  /** Restores what {@link coreState} returned. */
  protected restoreCoreState(state: EnvCoreState): void {
    this.#rng = state.rng === null ? undefined : Rng.fromState(state.rng);
    this.#needsReset = state.needsReset ?? undefined;
  }

  abstract step(action: Act): StepResult<Obs>;

  render(): string | undefined {
    return undefined;
  }

  close(): void {}

  /** The innermost env below all wrappers. */
  get unwrapped(): Env<unknown, unknown> {
    return this as Env<unknown, unknown>;
  }

  toString(): string {
    return this.spec ? `<${this.constructor.name}<${this.spec.id}>>` : `<${this.constructor.name}>`;
  }
}

crossCopyClass(Env, "Env");
// InvalidSeedError is defined in random.ts; it is branded here with the other contract errors.
crossCopyClass(InvalidSeedError, "InvalidSeedError");
