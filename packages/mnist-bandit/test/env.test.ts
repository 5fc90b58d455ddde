import { ActionOutOfSpaceError, checkEnv, make, ResetNeededError, registry, spec } from "@sgprop/gym";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  InvalidOptionError,
  MNIST_BANDIT_ENV_ID,
  MnistBanditEnv,
  registerMnistBanditEnvs,
  STANDARDIZED_PIXEL,
} from "../src/index.js";
import { binomialBound, testData } from "./helpers.js";

const data = testData();

describe("MnistBanditEnv", () => {
  it("has a 784-float Box observation and a Discrete action per class", () => {
    const env = new MnistBanditEnv({ dataset: data });
    expect(env.observationSpace.toString()).toMatch(/^Box\(-0\.42\d*, 2\.82\d*, \(784,\), float32\)$/);
    expect(env.actionSpace.toString()).toBe("Discrete(9)");
    expect(new MnistBanditEnv({ dataset: data, classes: [4, 2] }).actionSpace.n).toBe(2);
  });

  it("one context per episode, terminated after one step, reward for the right class", () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.constantFrom("train", "test") as fc.Arbitrary<"train" | "test">,
        (seed, split) => {
          const env = new MnistBanditEnv({ dataset: data, pFlip: 0, split });
          const [obs, info] = env.reset({ seed });
          expect(env.observationSpace.contains(obs)).toBe(true);
          const row = info.exampleIndex as number;
          expect(obs[300]).toBe(STANDARDIZED_PIXEL[data[split].images[row * 784 + 300] as number]);
          const digit = data[split].labels[row] as number;
          const action = env.subset.actionOfClass[digit] as number;
          const [, reward, terminated, truncated, stepInfo] = env.step(action);
          expect([reward, terminated, truncated]).toEqual([1, true, false]);
          expect(stepInfo).toMatchObject({ label: action, digit, correct: 1, flipped: false });
          expect(() => env.step(action)).toThrow(ResetNeededError);
          const [, next] = env.reset();
          const right = env.subset.actionOfClass[
            data[split].labels[next.exampleIndex as number] as number
          ] as number;
          const [, wrong] = env.step((right + 1) % 9);
          expect(wrong).toBe(0);
        },
      ),
      { numRuns: 30 },
    );
  });

  // Determinism, seeding, checkpoints and the vector env: test/properties.test.ts (envProperties).
  it("flips rewards at rate pFlip", () => {
    const env = new MnistBanditEnv({ dataset: data, pFlip: 0.4 });
    env.reset({ seed: 1 });
    let flips = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) {
      env.reset();
      const [, reward, , , info] = env.step(0);
      expect(reward).toBe(info.flipped ? 1 - (info.correct as number) : info.correct);
      if (info.flipped) flips++;
    }
    expect(Math.abs(flips / n - 0.4)).toBeLessThan(binomialBound(0.4, n));
  });

  it("rejects bad actions and options", () => {
    const env = new MnistBanditEnv({ dataset: data });
    env.reset({ seed: 0 });
    expect(() => env.step(9)).toThrow(ActionOutOfSpaceError);
    expect(() => env.step(1.5)).toThrow(ActionOutOfSpaceError);
    expect(() => new MnistBanditEnv({ dataset: data, pFlip: 2 })).toThrow(InvalidOptionError);
    expect(() => new MnistBanditEnv({ dataset: data, split: "val" as "train" })).toThrow(
      'split must be "train" or "test", got val',
    );
    expect(() => new MnistBanditEnv({ dataset: data, classes: [1, 1] })).toThrow(/appears more than once/);
  });
});

describe("registered env mnist-bandit/MNISTBandit-v0", () => {
  registerMnistBanditEnvs();
  registerMnistBanditEnvs(); // idempotent

  it("is in the registry with the paper's defaults", () => {
    const s = spec(MNIST_BANDIT_ENV_ID);
    expect(s.kwargs).toEqual({ classes: [0, 1, 3, 4, 5, 6, 7, 8, 9], pFlip: 0.4, split: "train" });
    expect(registry().filter((r) => r.id === MNIST_BANDIT_ENV_ID)).toHaveLength(1);
  });

  it("passes the gym env checker", () => {
    const env = make(MNIST_BANDIT_ENV_ID, { dataset: data });
    const report = checkEnv(env);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it("make() forwards kwargs: a noiseless test-split env", () => {
    const env = make(MNIST_BANDIT_ENV_ID, { dataset: data, split: "test", pFlip: 0, classes: [3, 8] });
    expect(env.actionSpace.toString()).toBe("Discrete(2)");
    const inner = env.unwrapped as MnistBanditEnv;
    expect([inner.split, inner.pFlip]).toEqual(["test", 0]);
    const [, info] = env.reset({ seed: 3 });
    expect([3, 8]).toContain(data.test.labels[info.exampleIndex as number]);
  });
});
