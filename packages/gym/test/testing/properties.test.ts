import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  Box,
  Discrete,
  Env,
  type Info,
  nextDefaultSeed,
  type ResetArgs,
  resetDefaultSeeds,
  Space,
  type StepResult,
  SyncVectorEnv,
} from "../../src/index.js";
import {
  arbitraryOf,
  EnvPropertyError,
  type EnvPropertyName,
  envProperties,
  propertyList,
  replayEnvProperty,
  syncVectorUnderTest,
  type VectorUnderTest,
} from "../../src/testing/index.js";

/** How a Walker is broken (each flag plants one defect; none: a correct env). */
interface Defects {
  /** Observation leaves the Box on step 7 of an episode reset with seed 3. */
  outOfBoxAtStep7Seed3?: boolean;
  /** Reward NaN whenever the walker stands on cell 2. */
  nanReward?: boolean;
  /** Unseeded resets draw from the global default seeds instead of the env's generator. */
  globalReseed?: boolean;
  /** A counter that survives reset({seed}) leaks into observations. */
  leakAcrossReseed?: boolean;
  /** getState() forgets the generator. */
  checkpointWithoutRng?: boolean;
  /** Every walker built shares one module-wide counter that changes rewards. */
  sharedCounter?: boolean;
}

let shared = 0;

type Stream = { float(): number; integer(lo: number, hi: number): number };

/** A walk on cells 0..9 with a seeded start and slippery moves; ends on cell 9 or after 12 steps. */
class Walker extends Env<Float32Array, number> {
  readonly observationSpace = new Box(0, 1, [2]);
  readonly actionSpace = new Discrete(3, { start: -1 });
  private cell = 0;
  private t = 0;
  private seed: number | undefined;
  private leaked = 0;
  private ownStream: Stream | undefined;

  constructor(private readonly defects: Defects = {}) {
    super();
  }

  private rngFor(): Stream {
    return this.ownStream ?? this.rng;
  }

  override reset(args?: ResetArgs): [Float32Array, Info] {
    super.reset(args);
    this.seed = args?.seed;
    this.ownStream = undefined;
    if (this.defects.globalReseed && args?.seed === undefined) {
      const s = nextDefaultSeed();
      this.ownStream = { float: () => ((s * 7919) % 1000) / 1000, integer: (lo) => lo + (s % 3) };
    }
    this.cell = this.rngFor().integer(0, 4);
    this.t = 0;
    this.leaked += 1;
    return [this.observe(), { cell: this.cell }];
  }

  step(action: number): StepResult<Float32Array> {
    const slip = this.rngFor().float() < 0.2;
    this.cell = Math.min(9, Math.max(0, this.cell + (slip ? 0 : action)));
    this.t += 1;
    let reward = this.cell === 9 ? 1 : -0.1;
    if (this.defects.nanReward && this.cell === 2) reward = Number.NaN;
    if (this.defects.sharedCounter) reward += shared++ % 2;
    const obs = this.observe();
    if (this.defects.outOfBoxAtStep7Seed3 && this.seed === 3 && this.t === 7) obs[0] = 1.5;
    return [obs, reward, this.cell === 9, this.t >= 12, { cell: this.cell }];
  }

  private observe(): Float32Array {
    const extra = this.defects.leakAcrossReseed ? Math.min(1, this.leaked / 100) : 0;
    return Float32Array.of(this.cell / 9, Math.max(extra, this.t / 12));
  }

  override getState() {
    return {
      core: this.coreState(),
      cell: this.cell,
      t: this.t,
      seed: this.seed ?? null,
      leaked: this.leaked,
    };
  }

  override setState(state: ReturnType<Walker["getState"]>): void {
    if (!this.defects.checkpointWithoutRng) this.restoreCoreState(state.core);
    else this.restoreCoreState({ ...state.core, rng: this.coreState().rng });
    this.cell = state.cell;
    this.t = state.t;
    this.seed = state.seed ?? undefined;
    this.leaked = state.leaked;
  }
}

/** Runs one property the way a user would, returning fast-check's report. */
function run(defects: Defects | (() => Walker), name: EnvPropertyName, numRuns = 100) {
  const props = envProperties(typeof defects === "function" ? defects : () => new Walker(defects));
  const prop = props[name];
  if (prop === undefined) throw new Error(`${name} missing`);
  return fc.check(prop.property() as fc.IProperty<[unknown]>, { numRuns, seed: 42 });
}

function errorOf(report: fc.RunDetails<[unknown]>): EnvPropertyError {
  expect(report.failed).toBe(true);
  const e = report.errorInstance;
  expect(e).toBeInstanceOf(EnvPropertyError);
  return e as EnvPropertyError;
}

describe("envProperties on correct envs", () => {
  it("a correct env passes every property (25 runs each), and assert() reports the replay line", () => {
    {
      const props = propertyList(envProperties(() => new Walker()));
      expect(props.map((p) => p.name)).toEqual([
        "observationsInSpace",
        "rewardsFinite",
        "deterministic",
        "resetContinuesStream",
        "stepAfterEnd",
        "invalidActionsRefused",
        "wrappersPreserveContract",
        "vectorMatchesSingles",
        "checkpointRestoresExactly",
      ]);
      for (const p of props) p.assert({ numRuns: 25 });
    }
    const broken = envProperties(() => new Walker({ nanReward: true }));
    expect(() => broken.rewardsFinite.assert({ seed: 1 })).toThrow(
      /Counterexample: .*\n[\s\S]*reward NaN is not finite\n\s+replay: replayEnvProperty\(makeEnv, "rewardsFinite", \{ seed: \d+, episodes: /,
    );
  });

  it("leaves out checkpointing for envs without getState, and the vector property on request", () => {
    class Plain extends Walker {
      override getState = undefined as unknown as Walker["getState"];
    }
    const props = envProperties(() => new Plain(), { vector: false });
    expect(props.checkpointRestoresExactly).toBeUndefined();
    expect(props.vectorMatchesSingles).toBeUndefined();
    expect(() =>
      replayEnvProperty(() => new Plain(), "checkpointRestoresExactly", { seed: 0, episodes: [[]], cut: 0 }),
    ).toThrow(/does not apply/);
  });
});

describe("envProperties catches broken envs", () => {
  it("pinned: an observation out of its Box at step 7 after seed 3 is shrunk to seed 3, <= 7 actions, and the replay line fails", () => {
    const makeBroken = () => new Walker({ outOfBoxAtStep7Seed3: true });
    const props = envProperties(makeBroken, { maxLength: 30 });
    const report = fc.check(props.observationsInSpace.property(), { numRuns: 1000, seed: 7 });
    const error = errorOf(report as fc.RunDetails<[unknown]>);
    const [input] = report.counterexample ?? [];
    expect(input?.seed).toBe(3);
    const actions = input?.episodes.flat() ?? [];
    expect(actions.length).toBeLessThanOrEqual(7);
    expect(input?.episodes).toEqual([[0, 0, 0, 0, 0, 0, 0]]); // slippery walker: any 7 actions fail; 0 is simplest
    expect(error.message).toMatch(
      /episode 0, step 7: observation Float32Array\(2\)\[1\.5, .*\] is not in Box/,
    );
    const line =
      error.message
        .split("\n")
        .at(-1)
        ?.replace(/^\s*replay: /, "") ?? "";
    expect(line).toMatch(
      /^replayEnvProperty\(makeBroken, "observationsInSpace", \{ seed: 3, episodes: \[\[.*\]\] \}\);$/,
    );
    // The snippet, as printed, with the names it uses in scope:
    const replay = new Function("replayEnvProperty", "makeBroken", line);
    expect(() => replay(replayEnvProperty, makeBroken)).toThrow(EnvPropertyError);
    expect(() => replay(replayEnvProperty, () => new Walker())).not.toThrow();
  });

  it("names a NaN reward", () => {
    expect(errorOf(run({ nanReward: true }, "rewardsFinite")).detail).toMatch(/reward NaN is not finite/);
  });

  it("names state shared between instances and state that survives reset({seed})", () => {
    expect(errorOf(run({ sharedCounter: true }, "deterministic")).detail).toMatch(
      /differ: episode \d+, step \d+: reward/,
    );
    expect(errorOf(run({ leakAcrossReseed: true }, "deterministic")).detail).toMatch(
      /re-seeding the same env/,
    );
  });

  it("names unseeded resets that do not continue the seeded stream", () => {
    const e = errorOf(run({ globalReseed: true }, "resetContinuesStream"));
    expect(e.detail).toMatch(/does not continue the stream/);
    expect(e.detail).toMatch(/episode 1/);
  });

  it("names a checkpoint that does not restore the generator", () => {
    resetDefaultSeeds(1); // the broken restore falls back on default seeds: make them order-independent
    const e = errorOf(run({ checkpointWithoutRng: true }, "checkpointRestoresExactly"));
    expect(e.detail).toMatch(
      /(restored from|rewound to) the state taken .* goes another way: episode \d+, (step \d+|reset)/,
    );
  });

  it("names a vector env that does not equal the singles", () => {
    const offByOne = (n: number): VectorUnderTest<number> => {
      const inner = syncVectorUnderTest(
        new SyncVectorEnv(Array.from({ length: n }, () => () => new Walker())),
      );
      return { reset: (seed) => inner.reset(seed + 1), step: (a, m) => inner.step(a, m) };
    };
    const props = envProperties(() => new Walker(), { vector: { make: offByOne } });
    const report = fc.check(props.vectorMatchesSingles?.property() as fc.IProperty<[unknown]>, {
      numRuns: 50,
      seed: 1,
    });
    const e = errorOf(report);
    // Seeds s and s + 1 start in the same cell one time in five, so the first difference is at the
    // reset or at a later step, depending on the seed drawn.
    expect(e.detail).toMatch(/^(reset|step \d+), sub-env \d+: observation row differs/);
    expect(e.replay).toMatch(/, options\);$/); // a custom vector is part of the options
  });

  it("names envs that bypass the step guards: refused calls must be refused and change nothing", () => {
    class Unguarded extends Walker {
      constructor() {
        super();
        const step = Walker.prototype.step;
        // Replaces the guarded step that Env's constructor installed: nothing is refused.
        Object.defineProperty(this, "step", { value: (a: number) => step.call(this, a) });
      }
    }
    expect(errorOf(run(() => new Unguarded(), "stepAfterEnd")).detail).toMatch(
      /step before the first reset did not throw ResetNeededError/,
    );
    expect(errorOf(run(() => new Unguarded(), "invalidActionsRefused")).detail).toMatch(
      /did not throw ActionOutOfSpaceError/,
    );
  });
});

/** A Space subclass the testing entry does not know: even integers in [0, 20]. */
class EvenNumbers extends Space<number> {
  constructor() {
    super([], "int64");
  }
  sample(): number {
    return 2 * this.rng.integer(0, 10);
  }
  mismatch(x: unknown): string | undefined {
    return typeof x === "number" && Number.isInteger(x) && x >= 0 && x <= 20 && x % 2 === 0
      ? undefined
      : `${String(x)} is not an even integer in [0, 20]`;
  }
  equals(other: Space<unknown>): boolean {
    return other instanceof EvenNumbers;
  }
  toString(): string {
    return "EvenNumbers()";
  }
}

describe("spaces the testing entry does not know", () => {
  class Jumper extends Env<number, number> {
    readonly observationSpace = new EvenNumbers();
    readonly actionSpace = new EvenNumbers();
    private x = 0;
    override reset(args?: ResetArgs): [number, Info] {
      super.reset(args);
      this.x = 2 * this.rng.integer(0, 10);
      return [this.x, {}];
    }
    step(action: number): StepResult<number> {
      this.x = (this.x + action) % 22;
      return [this.x, 1, this.x === 0, false, {}];
    }
  }

  it("fall back to seeded samples, and properties that need flatten are left out or skip it", () => {
    fc.assert(
      fc.property(arbitraryOf(new EvenNumbers()), (x) => new EvenNumbers().contains(x)),
      { numRuns: 50 },
    );
    const props = envProperties(() => new Jumper());
    expect(props.vectorMatchesSingles).toBeUndefined();
    for (const p of propertyList(props)) p.assert({ numRuns: 20 });
  });
});
