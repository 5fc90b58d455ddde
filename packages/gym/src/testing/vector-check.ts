import type { Env, Info } from "../env.js";
import { flatdim, flatten } from "../spaces/flatten.js";
import { type AutoresetMode, SyncVectorEnv } from "../vector.js";
import type { CheckContext } from "./contract-checks.js";
import { fail } from "./rollout.js";
import { firstDifference, snapshot } from "./values.js";

/** What a vector env returns from a reset, seen by the vector property. */
export interface VectorResetView {
  /** [numEnvs * rowLength] row-major; row k is the flat observation of sub-env k. */
  observations: ArrayLike<number>;
  /** Per sub-env infos, when the vector env reports them. */
  infos?: readonly Info[];
}

/** What a vector env returns from a step. */
export interface VectorStepView extends VectorResetView {
  rewards: ArrayLike<number>;
  /** 0/1 (or booleans) per sub-env. */
  terminated: ArrayLike<number | boolean>;
  truncated: ArrayLike<number | boolean>;
}

/**
 * A vector env as the vector property drives it, with Gymnasium's autoreset semantics (see
 * `SyncVectorEnv`). `syncVectorUnderTest` adapts a `SyncVectorEnv`; write an adapter for a
 * batched env of your own (one without autoreset can emulate "next-step" mode by resetting a
 * finished slot, without a seed, on the next step).
 */
export interface VectorUnderTest<Act> {
  /** Resets sub-env k with seed + k. */
  reset(seed: number): VectorResetView;
  /** Steps sub-envs k with mask[k] (all when mask is undefined) with actions[k]. */
  step(actions: readonly Act[], mask: readonly boolean[] | undefined): VectorStepView;
  close?(): void;
}

/** The vector property's view of a SyncVectorEnv. */
export function syncVectorUnderTest<Obs, Act>(vec: SyncVectorEnv<Obs, Act>): VectorUnderTest<Act> {
  return {
    reset: (seed) => {
      const [observations, infos] = vec.reset({ seed });
      return { observations, infos };
    },
    step: (actions, mask) => {
      const [observations, rewards, terminated, truncated, infos] = vec.step(
        actions,
        mask === undefined ? {} : { mask },
      );
      return { observations, rewards, terminated, truncated, infos };
    },
    close: () => vec.close(),
  };
}

export interface VectorInput<Act> {
  seed: number;
  numEnvs: number;
  autoresetMode: AutoresetMode;
  /** One entry per vector step: an action per sub-env and an optional mask (null: step all). */
  steps: { actions: Act[]; mask: boolean[] | null }[];
}

export type MakeVector<Act> = (numEnvs: number, autoresetMode: AutoresetMode) => VectorUnderTest<Act>;

/** One sub-env's expected outcome of a vector call. */
interface Expected {
  row: Float32Array;
  reward: number;
  terminated: boolean;
  truncated: boolean;
  info: Info | undefined;
}

function compare(
  what: string,
  view: VectorResetView | VectorStepView,
  expected: readonly Expected[],
  rowLength: number,
  ignore: readonly string[],
): void {
  expected.forEach((e, k) => {
    const row = Float32Array.from(
      Array.from({ length: rowLength }, (_, i) => Number(view.observations[k * rowLength + i])),
    );
    const d = firstDifference(row, e.row);
    if (d !== undefined) fail(`${what}, sub-env ${k}: observation row differs from the single env's: ${d}`);
    if ("rewards" in view) {
      const r = Math.fround(Number(view.rewards[k]));
      if (r !== Math.fround(e.reward))
        fail(`${what}, sub-env ${k}: reward ${r}, the single env's ${e.reward}`);
      const flags = [Boolean(view.terminated[k]), Boolean(view.truncated[k])];
      if (flags[0] !== e.terminated || flags[1] !== e.truncated) {
        fail(
          `${what}, sub-env ${k}: terminated/truncated ${flags.join("/")}, the single env's ${e.terminated}/${e.truncated}`,
        );
      }
    }
    const info = view.infos?.[k];
    if (info !== undefined && e.info !== undefined) {
      const strip = (x: Info) =>
        Object.fromEntries(Object.entries(x).filter(([key]) => !ignore.includes(key)));
      const di = firstDifference(strip(info), strip(e.info));
      if (di !== undefined) fail(`${what}, sub-env ${k}: info differs from the single env's: ${di}`);
    }
  });
}

/**
 * N single envs from the factory, stepped alike, predict the vector env slot for slot: reset
 * with seed + k, masked slots untouched, and autoreset in the given mode ("next-step": the step
 * after an end resets that env with reset() and reports reward 0 and no flags; "same-step": the
 * ending step resets it and its info carries finalObservation and finalInfo).
 */
export function checkVector<Obs, Act>(
  ctx: CheckContext<Obs, Act>,
  makeVector: MakeVector<Act>,
  input: VectorInput<Act>,
): void {
  const { numEnvs: n, autoresetMode: mode } = input;
  const vec = makeVector(n, mode);
  const singles: Env<Obs, Act>[] = [];
  try {
    for (let k = 0; k < n; k++) singles.push(ctx.makeEnv());
    const space = (singles[0] as Env<Obs, Act>).observationSpace;
    const flat = (obs: Obs) => flatten(space, obs);
    const rowLength = flatdim(space);
    const pending = new Array<boolean>(n).fill(false);
    const rows: Float32Array[] = [];
    const resetExpected = singles.map((env, k): Expected => {
      const [obs, info] = env.reset({ seed: input.seed + k });
      rows[k] = flat(obs);
      return {
        row: rows[k] as Float32Array,
        reward: 0,
        terminated: false,
        truncated: false,
        info: snapshot(info),
      };
    });
    compare("reset", vec.reset(input.seed), resetExpected, rowLength, ctx.ignoreInfoKeys);
    input.steps.forEach(({ actions, mask }, t) => {
      const expected = singles.map((env, k): Expected => {
        const idle = { reward: 0, terminated: false, truncated: false };
        if (mask !== null && !mask[k]) return { row: rows[k] as Float32Array, ...idle, info: {} };
        if (pending[k]) {
          pending[k] = false;
          const [obs, info] = env.reset();
          rows[k] = flat(obs);
          return { row: rows[k] as Float32Array, ...idle, info: snapshot(info) };
        }
        const [obs, reward, terminated, truncated, info] = env.step(actions[k] as Act);
        const ended = terminated || truncated;
        let outInfo: Info = snapshot(info);
        if (ended && mode === "next-step") pending[k] = true;
        if (ended && mode === "same-step") {
          const [obs2, info2] = env.reset();
          outInfo = { ...snapshot(info2), finalObservation: snapshot(obs), finalInfo: snapshot(info) };
          rows[k] = flat(obs2);
        } else rows[k] = flat(obs);
        return { row: rows[k] as Float32Array, reward, terminated, truncated, info: outInfo };
      });
      compare(`step ${t + 1}`, vec.step(actions, mask ?? undefined), expected, rowLength, ctx.ignoreInfoKeys);
    });
  } finally {
    vec.close?.();
    for (const env of singles) env.close();
  }
}

/** The default vector under test: a SyncVectorEnv of envs from the factory. */
export function defaultMakeVector<Obs, Act>(ctx: CheckContext<Obs, Act>): MakeVector<Act> {
  return (numEnvs, autoresetMode) =>
    syncVectorUnderTest(
      new SyncVectorEnv(
        Array.from({ length: numEnvs }, () => () => ctx.makeEnv()),
        { autoresetMode },
      ),
    );
}
