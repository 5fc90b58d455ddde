import {
  arrayOf,
  Box,
  Dict,
  Discrete,
  type Env,
  type Info,
  MultiBinary,
  MultiDiscrete,
  type ResetArgs,
  type Space,
  type StepResult,
  Tuple,
  Wrapper,
} from "@sgprop/gym";

/** The observation after appending a value of type X: a pair for plain spaces, a longer tuple for Tuple spaces, an extra key for Dict spaces. */
export type Appended<Obs, X, Key extends string> = Obs extends ArrayBufferView | number
  ? [Obs, X]
  : Obs extends readonly unknown[]
    ? [...Obs, X]
    : Obs & { [K in Key]: X };

/** A space whose values are not plain arrays or typed arrays of numbers. */
export class UnsupportedObservationSpaceError extends TypeError {
  constructor(wrapper: string, space: Space<unknown>) {
    super(`${wrapper} cannot extend observation space ${space.toString()}`);
    this.name = "UnsupportedObservationSpaceError";
  }
}

type AppendKind = "pair" | "tuple" | "dict";

function appendKind(wrapper: string, space: Space<unknown>): AppendKind {
  if (
    space instanceof Box ||
    space instanceof Discrete ||
    space instanceof MultiDiscrete ||
    space instanceof MultiBinary
  ) {
    return "pair";
  }
  if (space instanceof Tuple) return "tuple";
  if (space instanceof Dict) return "dict";
  throw new UnsupportedObservationSpaceError(wrapper, space);
}

function appendSpace(
  kind: AppendKind,
  space: Space<unknown>,
  extra: Space<unknown>,
  key: string,
): Space<unknown> {
  if (kind === "pair") return new Tuple([space, extra]);
  if (kind === "tuple") return new Tuple([...(space as Tuple<readonly Space<unknown>[]>).spaces, extra]);
  return new Dict({ ...(space as Dict<Record<string, Space<unknown>>>).spaces, [key]: extra });
}

function appendValue(kind: AppendKind, obs: unknown, value: unknown, key: string): unknown {
  if (kind === "pair") return [obs, value];
  if (kind === "tuple") return [...(obs as unknown[]), value];
  return { ...(obs as Record<string, unknown>), [key]: value };
}

/** POPGym's null action: 0 (or zeros) when in the action space, else the space's lowest value. */
export function nullAction(space: Space<unknown>): unknown {
  if (space instanceof Discrete) return space.contains(0) ? 0 : space.start;
  if (space instanceof MultiDiscrete) {
    const z = new Int32Array(space.nvec.length);
    return space.contains(z) ? z : Int32Array.from(space.start);
  }
  if (space instanceof MultiBinary) return new Uint8Array(space.shape.reduce((a, b) => a * b, 1));
  if (space instanceof Box) {
    const z = arrayOf(space.dtype, space.size);
    return space.contains(z) ? z : space.low.slice();
  }
  if (space instanceof Tuple) return (space.spaces as readonly Space<unknown>[]).map((s) => nullAction(s));
  if (space instanceof Dict) {
    const spaces = space.spaces as Record<string, Space<unknown>>;
    return Object.fromEntries(space.keys.map((k) => [k, nullAction(spaces[k] as Space<unknown>)]));
  }
  throw new TypeError(`no null action for action space ${space.toString()}`);
}

/**
 * POPGym's PreviousAction: appends the action just taken to the observation (the null action at
 * reset). Works on any env whose observation space is a Box, Discrete, MultiDiscrete, MultiBinary,
 * Tuple or Dict (key `prev_action`).
 */
export class PreviousAction<Obs, Act> extends Wrapper<Appended<Obs, Act, "prev_action">, Act, Obs, Act> {
  override readonly observationSpace: Space<Appended<Obs, Act, "prev_action">>;
  readonly nullAction: Act;
  private readonly kind: AppendKind;

  constructor(env: Env<Obs, Act>, opts: { nullAction?: Act } = {}) {
    super(env);
    this.kind = appendKind("PreviousAction", env.observationSpace);
    this.observationSpace = appendSpace(
      this.kind,
      env.observationSpace,
      env.actionSpace,
      "prev_action",
    ) as Space<Appended<Obs, Act, "prev_action">>;
    const nul = opts.nullAction ?? (nullAction(env.actionSpace) as Act);
    if (!env.actionSpace.contains(nul)) {
      throw new RangeError(
        `nullAction ${String(nul)} is not in the action space ${env.actionSpace.toString()}`,
      );
    }
    this.nullAction = nul;
  }

  override reset(args?: ResetArgs): [Appended<Obs, Act, "prev_action">, Info] {
    const [obs, info] = this.env.reset(args);
    return [
      appendValue(this.kind, obs, this.nullAction, "prev_action") as Appended<Obs, Act, "prev_action">,
      info,
    ];
  }

  override step(action: Act): StepResult<Appended<Obs, Act, "prev_action">> {
    const [obs, reward, terminated, truncated, info] = this.env.step(action);
    return [
      appendValue(this.kind, obs, action, "prev_action") as Appended<Obs, Act, "prev_action">,
      reward,
      terminated,
      truncated,
      info,
    ];
  }
}

/**
 * POPGym's Antialias: appends a Discrete(2) "is first step" flag (1 after reset, 0 after a step),
 * so that PreviousAction's null action cannot be confused with a real one. Dict spaces get key `is_t0`.
 */
export class Antialias<Obs, Act> extends Wrapper<Appended<Obs, number, "is_t0">, Act, Obs, Act> {
  override readonly observationSpace: Space<Appended<Obs, number, "is_t0">>;
  private readonly kind: AppendKind;

  constructor(env: Env<Obs, Act>) {
    super(env);
    this.kind = appendKind("Antialias", env.observationSpace);
    this.observationSpace = appendSpace(this.kind, env.observationSpace, new Discrete(2), "is_t0") as Space<
      Appended<Obs, number, "is_t0">
    >;
  }

  override reset(args?: ResetArgs): [Appended<Obs, number, "is_t0">, Info] {
    const [obs, info] = this.env.reset(args);
    return [appendValue(this.kind, obs, 1, "is_t0") as Appended<Obs, number, "is_t0">, info];
  }

  override step(action: Act): StepResult<Appended<Obs, number, "is_t0">> {
    const [obs, reward, terminated, truncated, info] = this.env.step(action);
    return [
      appendValue(this.kind, obs, 0, "is_t0") as Appended<Obs, number, "is_t0">,
      reward,
      terminated,
      truncated,
      info,
    ];
  }
}
