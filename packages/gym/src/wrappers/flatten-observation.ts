import type { Env } from "../env.js";
import type { Box } from "../spaces/box.js";
import { flattenInto, flattenSpace } from "../spaces/flatten.js";
import type { Space } from "../spaces/space.js";
import { ObservationWrapper } from "../wrapper.js";

export interface FlattenObservationOptions {
  /**
   * Return one Float32Array, overwritten by every reset and step, instead of a fresh array each
   * time (default false, as in Gymnasium). Faster, but every observation returned earlier aliases
   * the latest one: copy (`obs.slice()`) anything you keep past the next step.
   */
  reuseBuffer?: boolean;
}

/** Observations become `flatten(env.observationSpace, obs)`; the space becomes `flattenSpace(...)`. */
export class FlattenObservation<Obs, Act> extends ObservationWrapper<Float32Array, Obs, Act> {
  override readonly observationSpace: Box<"float32">;
  /** Whether observations share one buffer (see {@link FlattenObservationOptions.reuseBuffer}). */
  readonly reuseBuffer: boolean;
  readonly #inner: Space<Obs>;
  readonly #buffer: Float32Array | undefined;

  constructor(env: Env<Obs, Act>, opts: FlattenObservationOptions = {}) {
    super(env);
    this.observationSpace = flattenSpace(env.observationSpace);
    this.#inner = env.observationSpace;
    this.reuseBuffer = opts.reuseBuffer ?? false;
    this.#buffer = this.reuseBuffer ? new Float32Array(this.observationSpace.size) : undefined;
  }

  observation(obs: Obs): Float32Array {
    // The flat length is known from the space, so it is not recomputed per step as flatten() would.
    const out = this.#buffer ?? new Float32Array(this.observationSpace.size);
    if (this.#buffer !== undefined) out.fill(0);
    flattenInto(this.#inner, obs, out, 0);
    return out;
  }
}
