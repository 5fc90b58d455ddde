import { Rng } from "@sgprop/gym";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  InvalidActionError,
  InvalidMazeError,
  LabyrinthNotResetError,
  LabyrinthVectorEnv,
  PAPER_OBS_DIM,
} from "../src/index.js";
import { goldenEpisodes } from "./helpers.js";

describe("LabyrinthVectorEnv", () => {
  it("has the documented shape for the paper's setting", () => {
    const v = new LabyrinthVectorEnv({ kind: "escape", numEnvs: 3 });
    expect(v.obsDim).toBe(56);
    expect(PAPER_OBS_DIM).toBe(56);
    expect(v.numActions).toBe(4);
    expect(v.observations.length).toBe(3 * 56);
    expect(v.rewards.length).toBe(3);
    expect(v.state(0).episodeLength).toBe(80);
    expect(new LabyrinthVectorEnv({ kind: "explore", numEnvs: 1 }).state(0).episodeLength).toBe(40);
    expect(v.state(0).rows).toBe(7);
  });

  it("replays golden episodes side by side in one batch (masking finished envs)", () => {
    const eps = goldenEpisodes("escape").filter((e) => e.mazeDims[0] === 6);
    const v = new LabyrinthVectorEnv({ kind: "escape", numEnvs: eps.length });
    eps.forEach((ep, k) => {
      v.resetEnv(k, { options: { maze: { grid: ep.grid, start: ep.start, end: ep.end } } });
      expect([...v.observations.subarray(k * 56, (k + 1) * 56)]).toEqual(ep.resetObs);
    });
    const active = new Uint8Array(eps.length).fill(1);
    const actions = new Int32Array(eps.length);
    for (let t = 0; active.some((x) => x === 1); t++) {
      eps.forEach((ep, k) => {
        actions[k] = ep.steps[t]?.action ?? 99; // 99 would throw if a finished env were stepped
      });
      const before = v.observations.slice();
      v.step(actions, active);
      eps.forEach((ep, k) => {
        const row = [...v.observations.subarray(k * 56, (k + 1) * 56)];
        if (!active[k]) {
          expect(row).toEqual([...before.subarray(k * 56, (k + 1) * 56)]);
          return;
        }
        const st = ep.steps[t]!;
        expect(row).toEqual(st.obs);
        expect(v.rewards[k]).toBe(Math.fround(st.reward));
        expect(v.terminated[k]).toBe(st.terminated ? 1 : 0);
        expect(v.truncated[k]).toBe(st.truncated ? 1 : 0);
        expect([...v.positions().subarray(2 * k, 2 * k + 2)]).toEqual(st.position);
        if (st.terminated || st.truncated) active[k] = 0;
      });
    }
  });

  it("writes into the same preallocated buffers on every call", () => {
    const v = new LabyrinthVectorEnv({ kind: "explore", numEnvs: 4 });
    const { observations, rewards, terminated, truncated } = v;
    const positions = v.positions();
    for (let k = 0; k < 4; k++) v.resetEnv(k, { seed: k });
    v.step([0, 1, 2, 3]);
    expect(v.observations).toBe(observations);
    expect(v.rewards).toBe(rewards);
    expect(v.terminated).toBe(terminated);
    expect(v.truncated).toBe(truncated);
    expect(v.positions()).toBe(positions);
    // every row is a valid one-hot layout with 12 ones
    for (let k = 0; k < 4; k++) {
      expect(observations.subarray(k * 56, (k + 1) * 56).reduce((s, x) => s + x, 0)).toBe(12);
    }
  });

  it("gives the same maze for the same seed, and generator 'reference' gives the reference's", () => {
    const a = new LabyrinthVectorEnv({ kind: "escape", numEnvs: 2 });
    a.resetEnv(0, { seed: 5 });
    a.resetEnv(1, { seed: 5 });
    expect(a.state(1).grid).toEqual(a.state(0).grid);
    const ref = new LabyrinthVectorEnv({ kind: "escape", numEnvs: 1, generator: "reference" });
    const ep = goldenEpisodes("escape")[2]!;
    ref.resetEnv(0, { seed: ep.seed });
    expect([...ref.state(0).grid]).toEqual(ep.grid.flat());
    expect([...ref.observations]).toEqual(ep.resetObs);
  });

  it.each([-1, 4, 1.5, Number.NaN, "2", undefined])(
    "rejects action %j with a RangeError, changing nothing",
    (bad) => {
      const v = new LabyrinthVectorEnv({ kind: "escape", numEnvs: 2 });
      v.resetEnv(0, { seed: 1 });
      v.resetEnv(1, { seed: 2 });
      const before = v.observations.slice();
      const pos = v.positions().slice();
      expect(() => v.step([1, bad] as unknown as number[])).toThrow(RangeError);
      expect(() => v.step([1, bad] as unknown as number[])).toThrow(InvalidActionError);
      expect(v.observations).toEqual(before);
      expect(v.positions()).toEqual(pos);
    },
  );

  it("ignores the actions of inactive envs, and refuses to step a slot never reset", () => {
    const v = new LabyrinthVectorEnv({ kind: "escape", numEnvs: 2 });
    v.resetEnv(0, { seed: 1 });
    expect(() => v.step([0, 0])).toThrow(LabyrinthNotResetError);
    expect(() => v.step([0, 99], [1, 0])).not.toThrow();
    expect(() => v.step([0], [1, 0])).toThrow(/expected 2 actions/);
  });

  it("validates constructor options and injected mazes", () => {
    expect(() => new LabyrinthVectorEnv({ kind: "escape", numEnvs: 0 })).toThrow(/numEnvs/);
    expect(() => new LabyrinthVectorEnv({ kind: "escape", numEnvs: 1, mazeDims: [7, 6] })).toThrow(
      /7 is odd/,
    );
    expect(() => new LabyrinthVectorEnv({ kind: "maze" as "escape", numEnvs: 1 })).toThrow(/kind/);
    const v = new LabyrinthVectorEnv({ kind: "escape", numEnvs: 1 });
    const ep = goldenEpisodes("escape")[0]!;
    expect(() =>
      v.resetEnv(0, { options: { maze: { grid: ep.grid.slice(1), start: ep.start, end: ep.end } } }),
    ).toThrow(InvalidMazeError);
    expect(() => v.resetEnv(5, { seed: 1 })).toThrow(/env index/);
  });

  it.each(["default", "reference"] as const)(
    "a rejected seed or maze leaves the slot's episode and generator as they were (%s generator)",
    (generator) => {
      const ep = goldenEpisodes("escape")[0]!;
      const bad = { grid: ep.grid.slice(1), start: ep.start, end: ep.end };
      const twin = () => {
        const v = new LabyrinthVectorEnv({ kind: "escape", numEnvs: 1, generator });
        v.resetEnv(0, { seed: 5 });
        v.step([1]);
        return v;
      };
      const clean = twin();
      const noisy = twin();
      const obs = noisy.observations.slice();
      expect(() => noisy.resetEnv(0, { seed: 9, options: { maze: bad } })).toThrow(InvalidMazeError);
      expect(() => noisy.resetEnv(0, { seed: -1, options: { maze: ep } })).toThrow(RangeError);
      expect(() => noisy.resetEnv(0, { seed: 2 ** 32 + 1.5 })).toThrow(RangeError);
      expect(noisy.observations).toEqual(obs);
      // The next unseeded maze continues seed 5's stream, not seed 9's.
      clean.resetEnv(0);
      noisy.resetEnv(0);
      expect(noisy.state(0).grid).toEqual(clean.state(0).grid);
      expect(noisy.observations).toEqual(clean.observations);
    },
  );

  it("matches its own single-slot replay whatever the batch composition (property, 200 runs)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.nat({ max: 2 ** 40 }),
        fc.constantFrom("escape" as const, "explore" as const),
        (n, seed, kind) => {
          const batch = new LabyrinthVectorEnv({ kind, numEnvs: n });
          const solo = new LabyrinthVectorEnv({ kind, numEnvs: 1 });
          const rng = Rng.fromSeed(seed);
          const acts = Array.from({ length: 40 }, () => Array.from({ length: n }, () => rng.integer(0, 3)));
          for (let k = 0; k < n; k++) batch.resetEnv(k, { seed: seed + k });
          batch.step(acts[0]!);
          for (const a of acts.slice(1)) batch.step(a);
          const k = n - 1;
          solo.resetEnv(0, { seed: seed + k });
          for (const a of acts) solo.step([a[k]!]);
          expect([...batch.observations.subarray(k * 56)]).toEqual([...solo.observations]);
          expect(batch.positions()[2 * k]).toBe(solo.positions()[0]);
        },
      ),
      { numRuns: 200 },
    );
  });
});
