import type { Env } from "../env.js";
import type { Box } from "../spaces/box.js";
import { flatten, flattenSpace } from "../spaces/flatten.js";
import { ObservationWrapper } from "../wrapper.js";

/** Observations become `flatten(env.observationSpace, obs)`; the space becomes `flattenSpace(...)`. */
export class FlattenObservation<Obs, Act> extends ObservationWrapper<Float32Array, Obs, Act> {
  override readonly observationSpace: Box<"float32">;

  constructor(env: Env<Obs, Act>) {
    super(env);
    this.observationSpace = flattenSpace(env.observationSpace);
  }

  observation(obs: Obs): Float32Array {
    return flatten(this.env.observationSpace, obs);
  }
}
