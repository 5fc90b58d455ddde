import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveBanditOptions } from "../src/bandit/options.js";
import { writeCheckpointDir } from "../src/checkpoint.js";
import { memoryBudgetProblem } from "../src/memoryBudget.js";
import { resolvePopgymOptions } from "../src/reinforce/options.js";
import { NonFiniteError } from "../src/trainer.js";

// Issue 14: a checkpoint is written only from finite state; library defaults follow the CLI's.
describe("checkpoints from non-finite state", () => {
  it.each([Number.NaN, Number.POSITIVE_INFINITY])(
    "refuses %s, naming the step and the tensor",
    async (bad) => {
      const dir = join(mkdtempSync(join(tmpdir(), "sgprop-nan-")), "unit-000007");
      const tensors = {
        "param.a": { dtype: "F32" as const, shape: [3], data: Float32Array.from([1, 2, 3]) },
        "param.b": { dtype: "F32" as const, shape: [2, 2], data: Float32Array.from([0, 0, bad, 0]) },
      };
      const error = await writeCheckpointDir(dir, tensors, { completed: 7 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NonFiniteError);
      expect((error as NonFiniteError).step).toBe(7);
      expect((error as NonFiniteError).tensorName).toMatch(/^param\.b\[2\]/);
      expect(existsSync(dir)).toBe(false);
    },
  );
});

describe("createPopgymTrainer's default algorithm follows the model, as the CLI's does", () => {
  it.each([
    ["sparsenet", "sgprop"],
    ["gru", "backprop"],
    ["lstm", "backprop"],
  ] as const)("%s -> %s", (model, algorithm) => {
    expect(resolvePopgymOptions({ model }).algorithm).toBe(algorithm);
  });

  it("an explicit algorithm still wins (and sgprop with a GRU is still refused)", () => {
    expect(resolvePopgymOptions({ model: "sparsenet", algorithm: "backprop" }).algorithm).toBe("backprop");
    expect(() => resolvePopgymOptions({ model: "gru", algorithm: "sgprop" })).toThrow(/sgprop/);
  });
});

describe("the library refuses runs too large for the machine before allocating", () => {
  it("POPGym numEnvs 1e9 and width 200000 name the option", () => {
    expect(() => resolvePopgymOptions({ numEnvs: 1e9 })).toThrow(/numEnvs = 1000000000 needs about .* GB/);
    expect(() => resolvePopgymOptions({ width: 200_000 })).toThrow(/needs about/);
    expect(() => resolvePopgymOptions({})).not.toThrow();
  });

  it("bandit evalBatchSize 1e8 names the option", () => {
    expect(() => resolveBanditOptions({ evalBatchSize: 1e8 })).toThrow(/invalid evalBatchSize: 100000000/);
    expect(() => resolveBanditOptions({})).not.toThrow();
  });

  it("the budget is half of the memory given", () => {
    const parts = [{ what: "x", bytes: 600, option: "o", value: 1 }];
    expect(memoryBudgetProblem(parts, 2000)).toBeUndefined();
    expect(memoryBudgetProblem(parts, 1000)).toMatch(/^o = 1 needs about/);
  });
});
