import { describe, expect, it } from "vitest";
import { resolvePopgymOptions } from "../src/reinforce/options.js";

describe("the POPGym trainer's maze generator option", () => {
  it("defaults to POPGym's own mazes and refuses reset seeds beyond the replayed generator's 32 bits", () => {
    expect(resolvePopgymOptions({}).mazeGenerator).toBe("reference");
    // 20 envs x 301 resets: the last reset seed is seed + 6020.
    expect(() => resolvePopgymOptions({ seed: 2 ** 32 - 6020 })).toThrow(
      /seed 4294961276 is too large for the reference maze generator/,
    );
    expect(() => resolvePopgymOptions({ seed: 2 ** 32 - 6021 })).not.toThrow();
    expect(resolvePopgymOptions({ seed: 2 ** 40, mazeGenerator: "default" }).seed).toBe(2 ** 40);
    expect(() => resolvePopgymOptions({ mazeGenerator: "numpy" as "default" })).toThrow(
      /mazeGenerator must be reference or default, got "numpy"/,
    );
  });
});
