import {
  Box,
  Dict,
  Discrete,
  Env,
  FlattenObservation,
  MultiBinary,
  MultiDiscrete,
  type ResetArgs,
  Space,
  type StepResult,
  Tuple,
} from "@sgprop/gym";
import { describe, expect, it } from "vitest";
import {
  Antialias,
  LabyrinthEscape,
  nullAction,
  PreviousAction,
  UnsupportedObservationSpaceError,
} from "../src/index.js";
import { goldenEpisodes } from "./helpers.js";

/** A generic env whose spaces and observations are injected, to test the wrappers on any space. */
class ScriptedEnv<Obs, Act> extends Env<Obs, Act> {
  constructor(
    readonly observationSpace: Space<Obs>,
    readonly actionSpace: Space<Act>,
    private readonly makeObs: (t: number) => Obs,
  ) {
    super();
  }
  private t = 0;
  override reset(args?: ResetArgs): [Obs, Record<string, unknown>] {
    super.reset(args);
    this.t = 0;
    return [this.makeObs(0), {}];
  }
  step(_action: Act): StepResult<Obs> {
    this.t++;
    return [this.makeObs(this.t), 1, false, this.t >= 3, {}];
  }
}

/** A space the wrappers have no rule for. */
class TextSpace extends Space<string> {
  constructor() {
    super([], undefined);
  }
  sample(): string {
    return "";
  }
  mismatch(x: unknown): string | undefined {
    return typeof x === "string" ? undefined : "not a string";
  }
  equals(other: Space<unknown>): boolean {
    return other instanceof TextSpace;
  }
  toString(): string {
    return "Text()";
  }
}

describe("PreviousAction", () => {
  it("pairs a plain observation with the action, the null action at reset", () => {
    const env = new PreviousAction(
      new ScriptedEnv(new Box(0, 1, [2]), new Discrete(3, { start: 1 }), (t) => Float32Array.of(t / 4, 0)),
    );
    expect(env.observationSpace.toString()).toBe(
      `Tuple(${new Box(0, 1, [2]).toString()}, Discrete(3, start=1))`,
    );
    expect(env.nullAction).toBe(1); // 0 is not in Discrete(3, start=1): the lowest action
    const [o0] = env.reset({ seed: 1 });
    expect(o0[1]).toBe(1);
    const [o1] = env.step(3);
    expect(o1).toEqual([Float32Array.of(0.25, 0), 3]);
    expect(env.observationSpace.contains(o1)).toBe(true);
  });

  it("appends to Tuple observations and adds prev_action to Dict observations", () => {
    const tupleEnv = new PreviousAction(
      new ScriptedEnv(new Tuple([new Discrete(2), new Discrete(5)]), new MultiDiscrete([2, 3]), (t) => [
        t % 2,
        t,
      ]),
    );
    const [t0] = tupleEnv.reset();
    expect(t0).toEqual([0, 0, new Int32Array(2)]);
    expect(tupleEnv.step(Int32Array.of(1, 2))[0]).toEqual([1, 1, Int32Array.of(1, 2)]);
    expect(tupleEnv.observationSpace.contains(tupleEnv.step(Int32Array.of(0, 0))[0])).toBe(true);

    const dictEnv = new PreviousAction(
      new ScriptedEnv(new Dict({ pos: new Discrete(9) }), new MultiBinary(2), (t) => ({ pos: t })),
    );
    expect(dictEnv.reset()[0]).toEqual({ pos: 0, prev_action: new Uint8Array(2) });
    expect(dictEnv.step(Uint8Array.of(1, 0))[0]).toEqual({ pos: 1, prev_action: Uint8Array.of(1, 0) });
    expect(dictEnv.observationSpace.contains(dictEnv.step(Uint8Array.of(1, 1))[0])).toBe(true);
  });

  it("validates a given null action and rejects unknown observation spaces", () => {
    const base = new ScriptedEnv(new Discrete(2), new Discrete(4), () => 0);
    expect(new PreviousAction(base, { nullAction: 3 }).reset()[0]).toEqual([0, 3]);
    expect(() => new PreviousAction(base, { nullAction: 7 })).toThrow(/nullAction 7/);
    const weird = new ScriptedEnv(new TextSpace(), new Discrete(2), () => "hello");
    expect(() => new PreviousAction(weird)).toThrow(UnsupportedObservationSpaceError);
  });

  it("chooses POPGym's null actions", () => {
    expect(nullAction(new Discrete(4))).toBe(0);
    expect(nullAction(new MultiDiscrete([3, 3], { start: [1, 0] }))).toEqual(Int32Array.of(1, 0));
    expect(nullAction(new Box(-1, 1, [2]))).toEqual(new Float32Array(2));
    expect(nullAction(new Box(2, 3, [2]))).toEqual(Float32Array.of(2, 2));
    expect(nullAction(new Tuple([new Discrete(2), new Discrete(2, { start: 5 })]))).toEqual([0, 5]);
  });
});

describe("Antialias", () => {
  it("flags the first observation with 1 and every later one with 0", () => {
    const env = new Antialias(
      new ScriptedEnv(new MultiDiscrete([4, 4]), new Discrete(2), () => new Int32Array(2)),
    );
    expect(env.observationSpace.toString()).toBe("Tuple(MultiDiscrete([4, 4]), Discrete(2))");
    expect(env.reset()[0][1]).toBe(1);
    expect(env.step(0)[0][1]).toBe(0);
    const dict = new Antialias(
      new ScriptedEnv(new Dict({ a: new Discrete(2) }), new Discrete(2), () => ({ a: 1 })),
    );
    expect(dict.reset()[0]).toEqual({ a: 1, is_t0: 1 });
  });
});

describe("the paper's stack over LabyrinthEscape", () => {
  it("has the reference layout: Tuple(MultiDiscrete([5]*10), Discrete(4), Discrete(2)) flattened to 56", () => {
    const stacked = new Antialias(
      new PreviousAction(new LabyrinthEscape({ mazeDims: [6, 6], episodeLength: 80 })),
    );
    expect(stacked.observationSpace.toString()).toBe(
      "Tuple(MultiDiscrete([5, 5, 5, 5, 5, 5, 5, 5, 5, 5]), Discrete(4), Discrete(2))",
    );
    const flat = new FlattenObservation(stacked);
    expect(flat.observationSpace.shape).toEqual([56]);
    const ep = goldenEpisodes("escape")[3]!;
    const [obs] = flat.reset({ options: { maze: ep } });
    expect([...obs]).toEqual(ep.resetObs);
    expect(obs.reduce((a, b) => a + b, 0)).toBe(12);
    expect(obs[49]).toBe(1); // env action "none"
    expect(obs[50]).toBe(1); // PreviousAction's null action 0
    expect(obs[55]).toBe(1); // first step
  });
});
