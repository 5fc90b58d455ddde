import type { Env, Info, ResetArgs, StepResult } from "../env.js";
import { Wrapper } from "../wrapper.js";

/** What RecordEpisodeStatistics adds to the final step's info: return, length, seconds elapsed. */
export interface EpisodeStatistics {
  r: number;
  l: number;
  t: number;
}

/**
 * On the step that ends an episode, adds `info.episode = {r, l, t}` (Gymnasium 1.x keys) and keeps
 * the last `bufferLength` episodes' returns, lengths and durations.
 */
export class RecordEpisodeStatistics<Obs, Act> extends Wrapper<Obs, Act> {
  readonly returnQueue: number[] = [];
  readonly lengthQueue: number[] = [];
  readonly timeQueue: number[] = [];
  readonly bufferLength: number;
  episodeCount = 0;
  #return = 0;
  #length = 0;
  #start = 0;

  constructor(env: Env<Obs, Act>, opts: { bufferLength?: number } = {}) {
    super(env);
    this.bufferLength = opts.bufferLength ?? 100;
    if (!Number.isSafeInteger(this.bufferLength) || this.bufferLength <= 0) {
      throw new RangeError(
        `RecordEpisodeStatistics: bufferLength must be a positive integer, got ${this.bufferLength}`,
      );
    }
  }

  override reset(args?: ResetArgs): [Obs, Info] {
    const result = this.env.reset(args);
    this.#return = 0;
    this.#length = 0;
    this.#start = performance.now();
    return result;
  }

  override step(action: Act): StepResult<Obs> {
    const [obs, reward, terminated, truncated, info] = this.env.step(action);
    this.#return += reward;
    this.#length += 1;
    if (!(terminated || truncated)) return [obs, reward, terminated, truncated, info];
    const episode: EpisodeStatistics = {
      r: this.#return,
      l: this.#length,
      t: (performance.now() - this.#start) / 1000,
    };
    this.episodeCount += 1;
    push(this.returnQueue, episode.r, this.bufferLength);
    push(this.lengthQueue, episode.l, this.bufferLength);
    push(this.timeQueue, episode.t, this.bufferLength);
    return [obs, reward, terminated, truncated, { ...info, episode }];
  }
}

function push(queue: number[], value: number, max: number): void {
  queue.push(value);
  if (queue.length > max) queue.shift();
}
