import { crossCopyClass } from "./cross-copy.js";
import { Env, type Info, type ResetArgs, RNG_OF, type StepResult } from "./env.js";
import type { Rng } from "./random.js";
import type { Space } from "./spaces/space.js";

/**
 * Wraps an env and forwards everything to it, like `gymnasium.Wrapper`. Subclasses change one
 * concern. A wrapper that changes the observation or action type must assign its own
 * `observationSpace`/`actionSpace` (as a field or in its constructor); by default they are the
 * wrapped env's. The wrapper shares the wrapped env's generator.
 */
export class Wrapper<WObs, WAct, Obs = WObs, Act = WAct> extends Env<WObs, WAct> {
  observationSpace: Space<WObs>;
  actionSpace: Space<WAct>;

  constructor(readonly env: Env<Obs, Act>) {
    super();
    // Default spaces are only right when the wrapper keeps the types; other wrappers replace them.
    this.observationSpace = env.observationSpace as unknown as Space<WObs>;
    this.actionSpace = env.actionSpace as unknown as Space<WAct>;
    this.metadata = env.metadata;
    this.renderMode = env.renderMode;
    this.spec = env.spec;
  }

  override [RNG_OF](): Rng {
    return this.env[RNG_OF]();
  }

  override reset(args?: ResetArgs): [WObs, Info] {
    return this.env.reset(args) as unknown as [WObs, Info];
  }

  step(action: WAct): StepResult<WObs> {
    return this.env.step(action as unknown as Act) as unknown as StepResult<WObs>;
  }

  override render(): string | undefined {
    return this.env.render();
  }

  override close(): void {
    this.env.close();
  }

  override get unwrapped(): Env<unknown, unknown> {
    return this.env.unwrapped;
  }

  override toString(): string {
    return `<${this.constructor.name}${this.env.toString()}>`;
  }
}

/** Transforms observations (from both reset and step) with `observation`. Set `observationSpace`. */
export abstract class ObservationWrapper<WObs, Obs, Act> extends Wrapper<WObs, Act, Obs, Act> {
  abstract observation(obs: Obs): WObs;

  override reset(args?: ResetArgs): [WObs, Info] {
    const [obs, info] = this.env.reset(args);
    return [this.observation(obs), info];
  }

  override step(action: Act): StepResult<WObs> {
    const [obs, reward, terminated, truncated, info] = this.env.step(action);
    return [this.observation(obs), reward, terminated, truncated, info];
  }
}

/** Maps the agent's action to the wrapped env's action with `action`. Set `actionSpace`. */
export abstract class ActionWrapper<WAct, Obs, Act> extends Wrapper<Obs, WAct, Obs, Act> {
  abstract action(action: WAct): Act;

  override step(action: WAct): StepResult<Obs> {
    return this.env.step(this.action(action));
  }
}

/** Transforms rewards with `reward`. */
export abstract class RewardWrapper<Obs, Act> extends Wrapper<Obs, Act> {
  abstract reward(reward: number): number;

  override step(action: Act): StepResult<Obs> {
    const [obs, reward, terminated, truncated, info] = this.env.step(action);
    return [obs, this.reward(reward), terminated, truncated, info];
  }
}

crossCopyClass(Wrapper, "Wrapper");
crossCopyClass(ObservationWrapper, "ObservationWrapper");
crossCopyClass(ActionWrapper, "ActionWrapper");
crossCopyClass(RewardWrapper, "RewardWrapper");
