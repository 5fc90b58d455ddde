import { describe, expect, it, vi } from "vitest";
import type { Info, ResetArgs, StepResult } from "../src/index.js";

type Gym = typeof import("../src/index.js");

/** A second, independent instance of every module of the package, as a second installed copy. */
async function freshCopy(): Promise<Gym> {
  vi.resetModules();
  return import("../src/index.js");
}

describe("two copies of @sgprop/gym in one program", () => {
  it("are really two copies (different classes)", async () => {
    const a = await freshCopy();
    const b = await freshCopy();
    expect(a.Discrete).not.toBe(b.Discrete);
  });

  it("recognise each other's spaces, envs and errors with instanceof", async () => {
    const a = await freshCopy();
    const b = await freshCopy();
    const space = new a.Box(0, 1, [3]);
    expect(space instanceof b.Space).toBe(true);
    expect(space instanceof b.Box).toBe(true);
    expect(space instanceof b.Discrete).toBe(false);
    expect(new a.Discrete(3) instanceof b.Discrete).toBe(true);
    expect(b.flatdim(new a.Tuple([new a.Discrete(3), new a.MultiBinary(2)]))).toBe(5);
    expect(new a.ResetNeededError("x", "never-reset") instanceof b.ResetNeededError).toBe(true);
    expect(new a.ResetNeededError("x", "never-reset") instanceof Error).toBe(true);
  });

  it("keep ordinary instanceof for subclasses defined elsewhere", async () => {
    const a = await freshCopy();
    class Mine extends a.Discrete {}
    class Other extends a.Discrete {}
    expect(new Mine(2) instanceof Mine).toBe(true);
    expect(new Other(2) instanceof Mine).toBe(false);
    expect(new Mine(2) instanceof a.Discrete).toBe(true);
  });

  it("share one registry: an env registered through one copy is made and checked by the other", async () => {
    const a = await freshCopy();
    const b = await freshCopy();
    class Coin extends a.Env<number, number> {
      readonly observationSpace = new a.Discrete(2);
      readonly actionSpace = new a.Discrete(2);
      override reset(args?: ResetArgs): [number, Info] {
        super.reset(args);
        return [0, {}];
      }
      step(action: number): StepResult<number> {
        return [action, 1, true, false, {}];
      }
    }
    a.register({ id: "crosscopy/Coin-v0", entryPoint: () => new Coin(), maxEpisodeSteps: 5 });
    try {
      const env = b.make("crosscopy/Coin-v0");
      expect(env instanceof b.TimeLimit).toBe(true);
      expect(b.checkEnv(new Coin()).problems).toEqual([]);
      expect(b.checkEnv(env).problems).toEqual([]);
      expect(() => b.register({ id: "crosscopy/Coin-v0", entryPoint: () => new Coin() })).toThrow(
        b.DuplicateEnvError,
      );
    } finally {
      b.unregister("crosscopy/Coin-v0");
    }
    expect(a.registry().some((s) => s.id === "crosscopy/Coin-v0")).toBe(false);
  });
});
