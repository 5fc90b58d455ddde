import { describe, expect, it } from "vitest";
import type { GroupStats } from "../src/report/aggregate.js";
import { checkOrderings } from "../src/report/claims.js";

function group(method: string, mean: number, sem: number): GroupStats {
  return {
    setting: "all",
    method,
    learningRate: 0.001,
    runs: [],
    auc: { mean, sem, n: 4 },
    final: { mean, sem, n: 4 },
  };
}

describe("the paper's bandit ordering in a report", () => {
  it("holds when sgprop > MLP > SparseNet backprop by clear margins", () => {
    const [v] = checkOrderings("bandit", [
      group("sparse-sgprop", 0.6, 0.01),
      group("mlp", 0.5, 0.02),
      group("sparse-backprop", 0.3, 0.05),
    ]);
    expect(v).toMatchObject({ holds: true, resolved: true });
    expect(v?.text).toMatch(/sparse-sgprop > mlp > sparse-backprop: holds\./);
  });

  it("says when a gap is within two standard errors", () => {
    const [v] = checkOrderings("bandit", [
      group("sparse-sgprop", 0.6, 0.05),
      group("mlp", 0.55, 0.05),
      group("sparse-backprop", 0.3, 0.05),
    ]);
    expect(v).toMatchObject({ holds: true, resolved: false });
    expect(v?.text).toMatch(/more seeds needed/);
  });

  it("says when it does not hold, and stays silent without all three methods or on POPGym", () => {
    const [v] = checkOrderings("bandit", [
      group("sparse-sgprop", 0.4, 0.01),
      group("mlp", 0.5, 0.01),
      group("sparse-backprop", 0.3, 0.01),
    ]);
    expect(v?.holds).toBe(false);
    expect(v?.text).toMatch(/does NOT hold/);
    expect(checkOrderings("bandit", [group("sparse-sgprop", 0.6, 0), group("mlp", 0.5, 0)])).toEqual([]);
    expect(checkOrderings("popgym", [group("sparse-sgprop", 0.6, 0)])).toEqual([]);
  });
});
