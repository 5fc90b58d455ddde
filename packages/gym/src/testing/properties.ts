import fc from "fast-check";
import { type Env, isCheckpointable } from "../env.js";
import { flatdim } from "../spaces/flatten.js";
import type { Space } from "../spaces/space.js";
import type { AutoresetMode } from "../vector.js";
import { actionSequences, arbitraryOf, nonMemberOf, type SeedDomain, seeds } from "./arbitraries.js";
import {
  type CheckContext,
  type CheckpointInput,
  checkCheckpointRestores,
  checkDeterministic,
  checkInvalidActionsRefused,
  checkObservationsInSpace,
  checkResetContinuesStream,
  checkRewardsFinite,
  checkStepAfterEnd,
  type InvalidActionInput,
} from "./contract-checks.js";
import { type EpisodesInput, Violation } from "./rollout.js";
import { toSource } from "./values.js";
import { checkVector, defaultMakeVector, type MakeVector, type VectorInput } from "./vector-check.js";
import { checkWrappers, type WrapperInput } from "./wrapper-checks.js";

export interface EnvPropertiesOptions<Act = unknown> {
  /** Longest episode a generated run plays, in actions (default 20). */
  maxLength?: number;
  /** Most episodes a generated run plays (default 3: one seeded reset, then unseeded ones). */
  maxEpisodes?: number;
  /** Seeds the env accepts (default every non-negative safe integer). */
  seedDomain?: SeedDomain;
  /** fast-check runs per property for `assert()` (default 50). */
  numRuns?: number;
  /** Spaces of info keys: when a key is present in an info, its value must lie in its space. */
  infoSpaces?: Readonly<Record<string, Space<unknown>>>;
  /** Info keys left out when trajectories are compared (wall-clock times, say). */
  ignoreInfoKeys?: readonly string[];
  /** Settings of `vectorMatchesSingles`; false leaves that property out. */
  vector?:
    | false
    | {
        /** Largest N tried (default 4). */
        maxEnvs?: number;
        /** Most vector steps per run (default 24). */
        maxSteps?: number;
        /** Default both. */
        autoresetModes?: readonly AutoresetMode[];
        /** The vector env under test (default a SyncVectorEnv of envs from the factory). */
        make?: MakeVector<Act>;
      };
  /** Names the replay snippet uses for the factory and these options (defaults: the factory's own name, "options"). */
  replayNames?: { makeEnv?: string; options?: string };
}

/** Input of each property (what fast-check generates, shrinks and prints). */
export interface EnvPropertyInputs<Act> {
  observationsInSpace: EpisodesInput<Act>;
  rewardsFinite: EpisodesInput<Act>;
  deterministic: EpisodesInput<Act>;
  resetContinuesStream: EpisodesInput<Act>;
  stepAfterEnd: EpisodesInput<Act>;
  invalidActionsRefused: InvalidActionInput<Act>;
  wrappersPreserveContract: WrapperInput<Act>;
  vectorMatchesSingles: VectorInput<Act>;
  checkpointRestoresExactly: CheckpointInput<Act>;
}

export type EnvPropertyName = keyof EnvPropertyInputs<unknown>;

const DESCRIPTIONS: Record<EnvPropertyName, string> = {
  observationsInSpace: "observations stay in observationSpace and infos are plain objects (in infoSpaces)",
  rewardsFinite: "rewards are finite numbers and terminated/truncated are booleans",
  deterministic: "the same seed and actions give the same trajectory",
  resetContinuesStream: "reset() without a seed continues the stream of the last reset({seed})",
  stepAfterEnd: "step before reset or after the episode ended is refused and changes nothing",
  invalidActionsRefused: "actions outside actionSpace are refused and change nothing",
  wrappersPreserveContract: "TimeLimit, RecordEpisodeStatistics and FlattenObservation keep the contract",
  vectorMatchesSingles: "a vector env equals N single envs stepped alike (both autoreset modes)",
  checkpointRestoresExactly: "setState(getState()) restores the env exactly, mid-episode",
};

/** A property violated by a (shrunk) input; the message ends with a one-line replay snippet. */
export class EnvPropertyError extends Error {
  constructor(
    readonly property: EnvPropertyName,
    readonly input: unknown,
    /** JavaScript that re-runs the check on this input (and throws this error again). */
    readonly replay: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`env property ${property} failed: ${detail}\n  replay: ${replay}`, options);
    this.name = "EnvPropertyError";
  }
}

/** One named property: its arbitrary, its check, and ways to run it with fast-check. */
export interface EnvProperty<In> {
  readonly name: EnvPropertyName;
  readonly description: string;
  /** Inputs of the property (fast-check generates and shrinks these). */
  readonly arbitrary: fc.Arbitrary<In>;
  /** Throws an EnvPropertyError, whose message ends with the replay snippet, if `input` breaks the property. */
  check(input: In): void;
  /** `fc.property(arbitrary, check)`, for `fc.assert`, `fc.check` or any runner. */
  property(): fc.IProperty<[In]>;
  /**
   * `fc.assert(property(), { numRuns, includeErrorInReport: true, ...params })`: the thrown error's
   * message shows the shrunk input, what went wrong and the replay line.
   */
  assert(params?: fc.Parameters<[In]>): void;
}

export type EnvProperties<Act> = {
  [K in Exclude<EnvPropertyName, "checkpointRestoresExactly" | "vectorMatchesSingles">]: EnvProperty<
    EnvPropertyInputs<Act>[K]
  >;
} & {
  /** Present unless `options.vector` is false, or observations cannot be flattened (and no `vector.make` is given). */
  vectorMatchesSingles?: EnvProperty<VectorInput<Act>>;
  /** Present when the env implements getState() and setState(). */
  checkpointRestoresExactly?: EnvProperty<CheckpointInput<Act>>;
};

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** Whether the options change what a check does (not only what gets generated). */
function optionsMatter<Act>(o: EnvPropertiesOptions<Act>): boolean {
  return (
    o.infoSpaces !== undefined ||
    o.ignoreInfoKeys !== undefined ||
    (o.vector !== false && o.vector?.make !== undefined)
  );
}

/**
 * The Gymnasium contract as named fast-check properties over envs built by `makeEnv` (called
 * for every env a check needs, so it must build a fresh, equal env each time). Run each with
 * `props.name.assert()` in any test runner, or hand `arbitrary` and `check` to `@fast-check/vitest`.
 * A failure reports the shrunk seed and actions and a one-line `replayEnvProperty(...)` snippet
 * that reproduces it.
 */
export function envProperties<Obs, Act>(
  makeEnv: () => Env<Obs, Act>,
  options: EnvPropertiesOptions<Act> = {},
): EnvProperties<Act> {
  const probe = makeEnv();
  const actionSpace = probe.actionSpace;
  const checkpointable = isCheckpointable(probe);
  // Vector envs batch flat rows: a Space subclass flatten does not know cannot be compared there.
  let flattenable = true;
  try {
    flatdim(probe.observationSpace);
  } catch {
    flattenable = false;
  }
  probe.close();

  const ctx: CheckContext<Obs, Act> = {
    makeEnv,
    ignoreInfoKeys: options.ignoreInfoKeys ?? [],
    infoSpaces: options.infoSpaces,
  };
  const maxLength = options.maxLength ?? 20;
  const numRuns = options.numRuns ?? 50;
  const seedArb = seeds(options.seedDomain);
  // fast-check shrinks an array's length by dropping its *first* items; later episodes depend on
  // earlier ones, so the list is generated last-episode-first to let shrinking drop the later ones.
  const episodeLists = (minLength: number, maxEpisodes: number) =>
    fc
      .array(actionSequences({ actionSpace }, { maxLength }), { minLength, maxLength: maxEpisodes })
      .map((list) => [...list].reverse());
  const episodes: fc.Arbitrary<EpisodesInput<Act>> = fc.record({
    seed: seedArb,
    episodes: episodeLists(1, options.maxEpisodes ?? 3),
  });
  const factoryName =
    options.replayNames?.makeEnv ?? (IDENTIFIER.test(makeEnv.name) ? makeEnv.name : "makeEnv");
  const optionsName = options.replayNames?.options ?? "options";
  const snippet = (name: EnvPropertyName, input: unknown) => {
    let text: string;
    try {
      text = toSource(input);
    } catch {
      text = "/* input not printable as code */ undefined";
    }
    const tail = optionsMatter(options) ? `, ${optionsName}` : "";
    return `replayEnvProperty(${factoryName}, ${JSON.stringify(name)}, ${text}${tail});`;
  };

  const build = <In>(name: EnvPropertyName, arbitrary: fc.Arbitrary<In>, run: (input: In) => void) => {
    const check = (input: In) => {
      try {
        run(input);
      } catch (e) {
        const detail =
          e instanceof Violation
            ? e.message
            : `the env threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
        throw new EnvPropertyError(name, input, snippet(name, input), detail, { cause: e });
      }
    };
    const property = () => fc.property(arbitrary, check);
    const prop: EnvProperty<In> = {
      name,
      description: DESCRIPTIONS[name],
      arbitrary,
      check,
      property,
      assert: (params) => fc.assert(property(), { numRuns, includeErrorInReport: true, ...params }),
    };
    return prop;
  };

  const props: EnvProperties<Act> = {
    observationsInSpace: build("observationsInSpace", episodes, (i) => checkObservationsInSpace(ctx, i)),
    rewardsFinite: build("rewardsFinite", episodes, (i) => checkRewardsFinite(ctx, i)),
    deterministic: build("deterministic", episodes, (i) => checkDeterministic(ctx, i)),
    resetContinuesStream: build(
      "resetContinuesStream",
      fc.record({ seed: seedArb, episodes: episodeLists(2, Math.max(2, options.maxEpisodes ?? 3)) }),
      (i) => checkResetContinuesStream(ctx, i),
    ),
    stepAfterEnd: build("stepAfterEnd", episodes, (i) => checkStepAfterEnd(ctx, i)),
    invalidActionsRefused: build(
      "invalidActionsRefused",
      fc.tuple(episodes, nonMemberOf(actionSpace)).map(([e, bad]) => ({ ...e, bad })),
      (i) => checkInvalidActionsRefused(ctx, i),
    ),
    wrappersPreserveContract: build(
      "wrappersPreserveContract",
      fc
        .tuple(episodes, fc.integer({ min: 1, max: Math.max(1, maxLength) }))
        .map(([e, maxEpisodeSteps]) => ({ ...e, maxEpisodeSteps })),
      (i) => checkWrappers(ctx, i),
    ),
  };

  if (options.vector !== false && (flattenable || options.vector?.make !== undefined)) {
    const v = options.vector ?? {};
    const maxEnvs = v.maxEnvs ?? 4;
    const modes = v.autoresetModes ?? (["next-step", "same-step"] as const);
    const makeVector = v.make ?? defaultMakeVector(ctx);
    const domain = options.seedDomain ?? {};
    const action = arbitraryOf(actionSpace);
    const arbitrary: fc.Arbitrary<VectorInput<Act>> = fc.integer({ min: 1, max: maxEnvs }).chain((n) =>
      fc.record({
        // Sub-env k gets seed + k, which must stay in the domain.
        seed: seeds({ ...domain, max: (domain.max ?? Number.MAX_SAFE_INTEGER) - (n - 1) }),
        numEnvs: fc.constant(n),
        autoresetMode: fc.constantFrom(...modes),
        steps: fc.array(
          fc.record({
            actions: fc.array(action, { minLength: n, maxLength: n }),
            mask: fc.option(fc.array(fc.boolean(), { minLength: n, maxLength: n }), { nil: null, freq: 3 }),
          }),
          { maxLength: v.maxSteps ?? 24 },
        ),
      }),
    );
    props.vectorMatchesSingles = build("vectorMatchesSingles", arbitrary, (i) =>
      checkVector(ctx, makeVector, i),
    );
  }

  if (checkpointable) {
    props.checkpointRestoresExactly = build(
      "checkpointRestoresExactly",
      fc.tuple(episodes, fc.nat()).map(([e, cut]) => ({ ...e, cut })),
      (i) => checkCheckpointRestores(ctx, i),
    );
  }
  return props;
}

/**
 * Every property of `props` in a stable order, for a loop or `it.each`. Their input types are
 * erased to `unknown`: each `check` still only ever sees inputs of its own `arbitrary`.
 */
export function propertyList<Act>(props: EnvProperties<Act>): EnvProperty<unknown>[] {
  return (Object.values(props) as (EnvProperty<unknown> | undefined)[]).filter(
    (p): p is EnvProperty<unknown> => p !== undefined,
  );
}

/**
 * Re-runs one property's check on one input: what the replay snippet of an EnvPropertyError
 * calls. Throws that error again while the bug is there; returns quietly once it is fixed.
 */
export function replayEnvProperty<Obs, Act, K extends EnvPropertyName>(
  makeEnv: () => Env<Obs, Act>,
  name: K,
  input: EnvPropertyInputs<Act>[K],
  options: EnvPropertiesOptions<Act> = {},
): void {
  const prop = envProperties(makeEnv, options)[name] as
    | { check(input: EnvPropertyInputs<Act>[K]): void }
    | undefined;
  if (prop === undefined)
    throw new RangeError(`property ${name} does not apply to this env (or is switched off)`);
  prop.check(input);
}
