import type { Env, Info, ResetArgs, StepResult } from "../env.js";
import { Wrapper } from "../wrapper.js";

/** Truncates the episode once `maxEpisodeSteps` steps have been taken since the last reset. */
export class TimeLimit<Obs, Act> extends Wrapper<Obs, Act> {
  #elapsed = 0;

  constructor(
    env: Env<Obs, Act>,
    readonly maxEpisodeSteps: number,
  ) {
    super(env);
    if (!Number.isSafeInteger(maxEpisodeSteps) || maxEpisodeSteps <= 0) {
      throw new RangeError(`TimeLimit: maxEpisodeSteps must be a positive integer, got ${maxEpisodeSteps}`);
    }
  }

  /** Steps taken in the current episode. */
  get elapsedSteps(): number {
    return this.#elapsed;
  }

  override reset(args?: ResetArgs): [Obs, Info] {
    const result = this.env.reset(args);
    this.#elapsed = 0;
    return result;
  }

  override step(action: Act): StepResult<Obs> {
    const [obs, reward, terminated, truncated, info] = this.env.step(action);
    this.#elapsed += 1;
    return [obs, reward, terminated, truncated || this.#elapsed >= this.maxEpisodeSteps, info];
  }
}
