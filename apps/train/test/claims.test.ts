import { Rng } from "@sgprop/gym";
import { describe, expect, it } from "vitest";
import {
  bootstrapDifference,
  bootstrapGroups,
  bootstrapRng,
  bootstrapSlope,
  olsSlope,
  verdictOf,
} from "../src/report/claims.js";
import type { LoadedRun, LoadedSweep } from "../src/report/load.js";
import { paperClaims } from "../src/report/paper-claims.js";
import { findPaperSweeps } from "../src/report/paper-data.js";
import type { SweepRun } from "../src/sweep/spec.js";

// Synthetic results with known answers: the verdicts of the claims section must come out right.
const rng = () => Rng.derive(7, "train-test/claims");
const normal = (r: Rng, mu: number, sd: number, n: number) =>
  Array.from({ length: n }, () => r.normal(mu, sd));

describe("bootstrap statistics", () => {
  it("a clear positive difference is supported, its reverse not supported, overlap inconclusive", () => {
    const r = rng();
    const high = normal(r, 0.8, 0.02, 6);
    const low = normal(r, 0.5, 0.02, 6);
    const up = bootstrapDifference(high, low, rng(), 2000);
    expect(up.effect).toBeCloseTo(0.3, 1);
    expect(up.ci.lo).toBeGreaterThan(0.2);
    expect(verdictOf(up, "positive")).toBe("supported");
    expect(verdictOf(bootstrapDifference(low, high, rng(), 2000), "positive")).toBe("not supported");
    expect(verdictOf(up, "negative")).toBe("not supported");
    const spread = [0.4, 0.5, 0.6, 0.45, 0.55, 0.5];
    const same = bootstrapDifference(spread, [...spread].reverse(), rng(), 2000);
    expect(same.ci.lo).toBeLessThan(0);
    expect(same.ci.hi).toBeGreaterThan(0);
    expect(verdictOf(same, "positive")).toBe("inconclusive");
  });

  it("one seed in a group is inconclusive whatever the gap", () => {
    const res = bootstrapDifference([0.9], [0.1, 0.12, 0.11], rng(), 500);
    expect(res.seeds).toEqual([1, 3]);
    expect(verdictOf(res, "positive")).toBe("inconclusive");
  });

  it("an exact zero effect (with rounding residue) is inconclusive, not supported", () => {
    const flat = [0, 1, 2].map(() => [0.1, 0.3, 0.7].map((x) => ({ x, y: 0.3 })));
    const res = bootstrapSlope(flat, rng(), 500);
    expect(Math.abs(res.effect)).toBeLessThan(1e-12);
    expect(verdictOf(res, "positive")).toBe("inconclusive");
  });

  it("the slope of per-seed gaps recovers a known trend and its sign", () => {
    expect(
      olsSlope([
        { x: 0, y: 1 },
        { x: 1, y: 3 },
        { x: 2, y: 5 },
      ]),
    ).toBeCloseTo(2, 12);
    const r = rng();
    const profiles = [0, 1, 2, 3, 4, 5].map(() =>
      [0, 0.1, 0.2, 0.3, 0.4].map((x) => ({ x, y: 0.5 * x + r.normal(0, 0.01) })),
    );
    const res = bootstrapSlope(profiles, rng(), 2000);
    expect(res.effect).toBeCloseTo(0.5, 1);
    expect(verdictOf(res, "positive")).toBe("supported");
    expect(verdictOf(res, "negative")).toBe("not supported");
    // noise only: no trend to find
    const noise = [0, 1, 2, 3].map(() => [0, 0.2, 0.4].map((x) => ({ x, y: r.normal(0, 0.2) })));
    expect(verdictOf(bootstrapSlope(noise, rng(), 2000), "positive")).toBe("inconclusive");
  });

  it("a difference of differences (20 vs 40 envs) resamples four groups", () => {
    const r = rng();
    const groups = [
      normal(r, 0.6, 0.01, 4),
      normal(r, 0.3, 0.01, 4),
      normal(r, 0.5, 0.01, 4),
      normal(r, 0.45, 0.01, 4),
    ];
    const res = bootstrapGroups(
      groups,
      ([a, b, c, d]) => (a as number) - (b as number) - ((c as number) - (d as number)),
      rng(),
      2000,
    );
    expect(res.effect).toBeCloseTo(0.25, 1);
    expect(res.seeds).toEqual([4, 4, 4, 4]);
    expect(verdictOf(res, "positive")).toBe("supported");
  });

  it("the bootstrap stream is fixed per claim: same interval twice, another claim another stream", () => {
    const a = [0.1, 0.5, 0.3, 0.9];
    const b = [0.2, 0.4, 0.1, 0.3];
    expect(bootstrapDifference(a, b, bootstrapRng("x")).ci).toEqual(
      bootstrapDifference(a, b, bootstrapRng("x")).ci,
    );
    expect(bootstrapRng("x").uint32()).not.toBe(bootstrapRng("y").uint32());
  });
});

// A synthetic set of the paper's bandit sweeps in which sgprop beats backprop by a margin that grows
// with pFlip and shrinks with the number of parents.
function run(method: string, options: Record<string, unknown>, finalReward: number): LoadedRun {
  const evalRows = [1, 30, 60].map((step, i) => ({
    "charts/step": step,
    "eval/reward": finalReward * ((i + 1) / 3),
  }));
  const sweepRun = {
    id: `${method}-${JSON.stringify(options)}`,
    method,
    params: {},
    options,
  } as unknown as SweepRun;
  return { run: sweepRun, status: "complete", train: [], evalRows, setting: "all" };
}

function sweep(name: string, runs: LoadedRun[]): LoadedSweep {
  return {
    dir: name,
    sweep: { name, kind: "bandit", checkpointEvery: 1, keepCheckpoints: 1, runs: runs.map((r) => r.run) },
    runs,
  };
}

describe("paper claims on synthetic sweeps", () => {
  const r = Rng.derive(3, "train-test/synthetic-sweeps");
  const base = {
    sparse_sgprop_adaptive: 5e-3,
    sparse_backprop: 1e-3,
    mlp: 2e-5,
    sparse_sgprop_fixed_theta: 5e-3,
  };
  const quality = (m: string, pFlip: number, parents: number) =>
    m === "sparse_sgprop_adaptive"
      ? 0.8 - 0.1 * pFlip - 0.005 * parents
      : m === "mlp"
        ? 0.6
        : m === "sparse_backprop"
          ? 0.7 - 0.5 * pFlip
          : 0.75;
  const seeds = [0, 1, 2, 3, 4, 5];
  const mk = (
    m: string,
    lr: number,
    pFlip: number,
    numParents: number,
    extra: Record<string, unknown> = {},
  ) =>
    seeds.map((seed) =>
      run(
        m,
        { seed, learningRate: lr, pFlip, numParents, thetaInit: 0.9, ...extra },
        quality(m, pFlip, numParents) - (lr === base[m as keyof typeof base] ? 0 : 0.05) + r.normal(0, 0.01),
      ),
    );
  const lrRuns = Object.entries(base).flatMap(([m, lr]) => [...mk(m, lr, 0.4, 5), ...mk(m, lr * 2, 0.4, 5)]);
  const pflipRuns = Object.entries(base).flatMap(([m, lr]) => [0, 0.2].flatMap((p) => mk(m, lr, p, 5)));
  const parentRuns = ["sparse_sgprop_adaptive", "sparse_backprop"].flatMap((m) =>
    [2, 11].flatMap((n) => mk(m, base[m as keyof typeof base], 0.4, n)),
  );
  const claims = paperClaims(
    findPaperSweeps([
      sweep("paper-bandit-lr", lrRuns),
      sweep("paper-bandit-pflip-quick", pflipRuns),
      sweep("paper-bandit-parents", parentRuns),
    ]),
  );
  const verdict = (id: string) => claims.find((c) => c.id === id)?.verdict;

  it("finds the known answers", () => {
    expect(verdict("bandit-sgprop-vs-backprop")).toBe("supported");
    expect(verdict("bandit-sgprop-vs-mlp")).toBe("supported");
    expect(verdict("bandit-mlp-vs-backprop")).toBe("supported"); // 0.6 > 0.7 - 0.5 * 0.4
    expect(verdict("bandit-adaptive-vs-fixed-0.9")).toBe("not supported"); // 0.735 < 0.75
    expect(verdict("bandit-gap-grows-with-pflip")).toBe("supported");
    expect(verdict("bandit-fewer-parents-favour-sgprop")).toBe("supported");
    const slope = claims.find((c) => c.id === "bandit-gap-grows-with-pflip")?.result;
    expect(slope?.effect).toBeCloseTo(0.4, 1); // d(gap)/d(pFlip) = -0.1 + 0.5
  });

  it("picks each method's best learning rate and says which", () => {
    const c = claims.find((x) => x.id === "bandit-sgprop-vs-backprop");
    expect(c?.detail).toMatch(/adaptive theta\) lr 5e-3; SparseNet backprop lr 1e-3/);
  });

  it("marks claims whose sweeps are absent as not measured", () => {
    expect(verdict("bandit-adaptive-vs-theta-0")).toBe("not measured");
    expect(verdict("popgym-escape-sgprop-vs-backprop")).toBe("not measured");
  });
});
