import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BANDIT_TRAINER_STREAMS,
  createBanditTrainer,
  createPopgymTrainer,
  POPGYM_TRAINER_STREAMS,
  selectBackend,
  trainerStreams,
} from "@sgprop/agents";
import { Rng } from "@sgprop/gym";
import { loadBundledMnist, MnistBandit, type MnistDataset } from "@sgprop/mnist-bandit";
import { LabyrinthVectorEnv } from "@sgprop/popgym";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The streams a real run draws from, read back from the run's own checkpoint (so the test sees
 * what the trainer and its env hold, not what a table says they should hold). Before named
 * streams, a bandit run's action sampler and reward-flip stream were one stream (the run
 * collapsed onto one action), and a POPGym run's two trainer forks were one stream shifted by a draw.
 */

const tmp = mkdtempSync(join(tmpdir(), "sgprop-streams-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let data: MnistDataset;
beforeAll(async () => {
  await selectBackend("cpu");
  data = loadBundledMnist();
});

const TINY_BANDIT = {
  steps: 2,
  numEvals: 1,
  batchSize: 4,
  evalBatchSize: 4,
  numLayers: 1,
  width: 4,
  neuronDim: 2,
  numSlots: 2,
  numParents: 2,
};

const TINY_POPGYM = {
  model: "gru" as const,
  algorithm: "backprop" as const,
  env: "explore" as const,
  numEnvs: 3,
  batches: 2,
  hiddenSize: 4,
  actorHiddenSize: 4,
  embedHidden: 4,
  embedDim: 4,
  mazeGenerator: "default" as const,
};

let runs = 0;
async function checkpointMeta(save: (dir: string) => Promise<void>): Promise<Record<string, unknown>> {
  const dir = join(tmp, `run-${runs++}`);
  await save(dir);
  return JSON.parse(readFileSync(join(dir, "checkpoint.json"), "utf8")) as Record<string, unknown>;
}

/** Every stream of a fresh bandit run of `seed`, by name. */
async function banditRunStreams(seed: number): Promise<Record<string, Rng>> {
  const trainer = await createBanditTrainer({
    ...TINY_BANDIT,
    seed,
    bandit: (o) => new MnistBandit({ ...o, dataset: data, precompute: false }),
  });
  const meta = await checkpointMeta((dir) => trainer.saveCheckpoint(dir));
  trainer.dispose();
  const bandit = meta.bandit as Record<string, number[]>;
  return {
    "trainer/init": trainerStreams(seed, BANDIT_TRAINER_STREAMS).init,
    "trainer/actions": Rng.fromState(meta.actionRng as number[]),
    "bandit/contexts": Rng.fromState(bandit.contexts as number[]),
    "bandit/reward-noise": Rng.fromState(bandit.noise as number[]),
    "bandit/evaluation": Rng.fromState(bandit.evaluation as number[]),
  };
}

/** Every stream of a fresh POPGym run of `seed` (the maze streams of its first two batches too). */
async function popgymRunStreams(seed: number): Promise<Record<string, Rng>> {
  const trainer = await createPopgymTrainer({
    ...TINY_POPGYM,
    seed,
    envFactory: (spec) => new LabyrinthVectorEnv(spec),
  });
  const meta = await checkpointMeta((dir) => trainer.saveCheckpoint(dir));
  trainer.dispose();
  const streams: Record<string, Rng> = {
    "trainer/init": trainerStreams(seed, POPGYM_TRAINER_STREAMS).init,
    "trainer/actions": Rng.fromState(meta.actionRng as number[]),
    "trainer/explore-rewards": Rng.fromState(meta.rewardRng as number[]),
  };
  // Env k's t-th reset is seeded with seed + k + t * numEnvs; the "default" generator draws its
  // maze from Rng.fromSeed of that seed.
  for (let t = 0; t < 2; t++)
    for (let k = 0; k < TINY_POPGYM.numEnvs; k++)
      streams[`maze/${k}/${t}`] = Rng.fromSeed(seed + k + t * TINY_POPGYM.numEnvs);
  return streams;
}

function head(rng: Rng, n: number): number[] {
  const c = rng.clone();
  return Array.from({ length: n }, () => c.uint32());
}

/**
 * Pairs of streams whose first `n` outputs share a pair of consecutive draws, at the same or a
 * shifted place: two streams that are one stream (or a shifted copy) always do; unrelated streams
 * share one with probability about n^2 / 2^64.
 */
function sharedDraws(streams: Record<string, Rng>, n: number): string[] {
  const seen = new Map<string, string>();
  const clashes = new Set<string>();
  for (const [name, rng] of Object.entries(streams)) {
    const xs = head(rng, n);
    for (let i = 0; i + 1 < n; i++) {
      const key = `${xs[i]},${xs[i + 1]}`;
      const other = seen.get(key);
      if (other !== undefined && other !== name) clashes.add(`${other} ~ ${name}`);
      seen.set(key, name);
    }
  }
  return [...clashes];
}

function correlation(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] as number) - mx;
    const dy = (ys[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxy / Math.sqrt(sxx * syy);
}

describe("the random streams of a run", () => {
  it("bandit run: no two streams share draws among their first 64, for any seed", async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 2 ** 40 }), async (seed) => {
        expect(sharedDraws(await banditRunStreams(seed), 64)).toEqual([]);
      }),
      { numRuns: 8 },
    );
  });

  it("POPGym run: no two streams share draws among their first 64, for any seed", async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 2 ** 40 }), async (seed) => {
        expect(sharedDraws(await popgymRunStreams(seed), 64)).toEqual([]);
      }),
      { numRuns: 8 },
    );
  });

  it("a bandit trainer's action uniforms and its bandit's reward-flip uniforms are uncorrelated", async () => {
    for (const seed of [0, 1, 12345]) {
      const s = await banditRunStreams(seed);
      const actions = s["trainer/actions"] as Rng;
      const flips = s["bandit/reward-noise"] as Rng;
      const xs = Array.from({ length: 10_000 }, () => actions.float());
      const ys = Array.from({ length: 10_000 }, () => flips.float());
      // Independent uniforms: the sample correlation has standard deviation 0.01.
      expect(Math.abs(correlation(xs, ys))).toBeLessThan(0.05);
    }
  });

  it("no stream of runs of seeds 0-2 holds a 16-draw window of another's first 100,000 draws", async () => {
    const all: Record<string, Rng> = {};
    for (const seed of [0, 1, 2]) {
      for (const [name, rng] of Object.entries(await banditRunStreams(seed)))
        all[`bandit ${seed} ${name}`] = rng;
      for (const [name, rng] of Object.entries(await popgymRunStreams(seed))) {
        // Maze seeds of neighbouring runs coincide by design (the reference's EnvBatch seeding).
        if (!name.startsWith("maze/") || seed === 0) all[`popgym ${seed} ${name}`] = rng;
      }
    }
    expect(overlappingStreams(all, 100_000, 16)).toEqual([]);
  });
});

/**
 * Pairs of streams one of which holds the other's first `window` draws within its first `length`.
 * Two streams that overlap anywhere in that range are shifted copies, so one's head lies in the
 * other's first `length` draws: checking the heads is enough.
 */
function overlappingStreams(streams: Record<string, Rng>, length: number, window: number): string[] {
  const names = Object.keys(streams);
  const outputs = names.map((n) => Uint32Array.from(head(streams[n] as Rng, length)));
  const heads = new Map<number, number[]>();
  outputs.forEach((o, s) => {
    heads.set(o[0] as number, [...(heads.get(o[0] as number) ?? []), s]);
  });
  const found: string[] = [];
  outputs.forEach((o, s) => {
    for (let i = 0; i + window <= length; i++) {
      for (const t of heads.get(o[i] as number) ?? []) {
        if (t === s && i === 0) continue;
        const h = outputs[t] as Uint32Array;
        let same = true;
        for (let j = 1; j < window && same; j++) same = o[i + j] === h[j];
        if (same) found.push(`${names[t]} inside ${names[s]} at draw ${i}`);
      }
    }
  });
  return found;
}
