import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeCheckpointDir } from "../src/checkpoint.js";
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
