import { InvalidSeedError, Rng } from "@sgprop/gym";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ClassSubsetError,
  DEFAULT_CLASSES,
  InvalidActionError,
  InvalidOptionError,
  MNIST_BANDIT_STREAMS,
  MnistBandit,
  STANDARDIZED_PIXEL,
  scoreActions,
} from "../src/index.js";
import { binomialBound, sameBytes, testData } from "./helpers.js";

const data = testData();
const subsetArb = fc.shuffledSubarray([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], { minLength: 1 });

describe("MnistBandit sampling", () => {
  it("defaults to the paper's nine classes and pFlip 0.4 on 784-pixel contexts", () => {
    const bandit = new MnistBandit({ dataset: data });
    expect(bandit.classes).toEqual(DEFAULT_CLASSES);
    expect([bandit.numActions, bandit.pFlip, bandit.contextSize]).toEqual([9, 0.4, 784]);
  });

  it("fills contexts with the standardised train image of the reported row and its action", () => {
    fc.assert(
      fc.property(fc.nat(), subsetArb, fc.integer({ min: 1, max: 40 }), (seed, classes, size) => {
        const bandit = new MnistBandit({ dataset: data, classes, seed });
        const batch = bandit.sample(bandit.createBatch(size));
        for (let b = 0; b < size; b++) {
          const row = batch.exampleIndices[b] as number;
          const action = batch.labels[b] as number;
          // a class subset never yields a label outside it
          expect(action).toBeGreaterThanOrEqual(0);
          expect(action).toBeLessThan(classes.length);
          expect(classes[action]).toBe(data.train.labels[row]);
          for (const k of [0, 200, 400, 783]) {
            expect(batch.contexts[b * 784 + k]).toBe(
              STANDARDIZED_PIXEL[data.train.images[row * 784 + k] as number],
            );
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it("gives the same contexts with and without the precomputed float copy", () => {
    const fast = new MnistBandit({ dataset: data, seed: 8 });
    const lean = new MnistBandit({ dataset: data, seed: 8, precompute: false });
    const a = fast.sample(fast.createBatch(50));
    const b = lean.sample(lean.createBatch(50));
    expect(Array.from(b.exampleIndices)).toEqual(Array.from(a.exampleIndices));
    expect(sameBytes(a.contexts, b.contexts)).toBe(true);
    expect(a.contexts.some((v) => v > 2)).toBe(true);
  });

  it("draws uniformly with replacement over the subset's train images", () => {
    const bandit = new MnistBandit({ dataset: data, classes: [5, 1], seed: 11 });
    const batch = bandit.createBatch(4000);
    const seen = new Map<number, number>();
    let ones = 0;
    const draws = 5 * 4000;
    for (let r = 0; r < 5; r++) {
      bandit.sample(batch);
      for (let b = 0; b < batch.size; b++) {
        const row = batch.exampleIndices[b] as number;
        seen.set(row, (seen.get(row) ?? 0) + 1);
        if (batch.labels[b] === 1) ones++;
      }
    }
    const fives = data.train.labels.filter((l) => l === 5).length;
    const pool = fives + data.train.labels.filter((l) => l === 1).length;
    // with replacement: repeats occur; nearly every pool image appears in 20,000 draws
    expect(Math.max(...seen.values())).toBeGreaterThan(1);
    expect(seen.size).toBeGreaterThan(0.99 * pool);
    const p = (pool - fives) / pool;
    expect(Math.abs(ones / draws - p)).toBeLessThan(binomialBound(p, draws));
  });

  it("same seed, same contexts and rewards; another seed, other contexts", () => {
    fc.assert(
      fc.property(fc.nat(), fc.double({ min: 0, max: 1, noNaN: true }), (seed, pFlip) => {
        const run = (s: number) => {
          const bandit = new MnistBandit({ dataset: data, seed: s, pFlip });
          const batch = bandit.createBatch(32);
          const rows: number[] = [];
          const rewards: number[] = [];
          for (let step = 0; step < 3; step++) {
            bandit.sample(batch);
            rows.push(...batch.exampleIndices);
            rewards.push(...bandit.score(batch, new Int32Array(32).fill(step % bandit.numActions)));
          }
          return { rows, rewards, contexts: Array.from(batch.contexts.subarray(0, 100)) };
        };
        const a = run(seed);
        expect(run(seed)).toEqual(a);
        expect(run(seed + 1).rows).not.toEqual(a.rows);
      }),
      { numRuns: 25 },
    );
  });

  it("contexts do not depend on the actions taken or on evaluation", async () => {
    const a = new MnistBandit({ dataset: data, seed: 4 });
    const b = new MnistBandit({ dataset: data, seed: 4 });
    const ba = a.createBatch(16);
    const bb = b.createBatch(16);
    for (let step = 0; step < 4; step++) {
      a.sample(ba);
      b.sample(bb);
      expect(Array.from(ba.exampleIndices)).toEqual(Array.from(bb.exampleIndices));
      a.score(ba, new Int32Array(16).fill(1));
      await b.evaluate((x) => ({ actions: x.labels }), { n: 10 });
    }
  });

  it("state() and setState() resume the exact streams", () => {
    const a = new MnistBandit({ dataset: data, seed: 9 });
    const batch = a.sample(a.createBatch(8));
    a.score(batch, new Int32Array(8));
    const saved = a.state();
    const next = Array.from(a.sample(batch).exampleIndices);
    const rewards = Array.from(a.score(batch, new Int32Array(8)));
    const b = new MnistBandit({ dataset: data, seed: 1234 });
    b.setState(saved);
    const batchB = b.sample(b.createBatch(8));
    expect(Array.from(batchB.exampleIndices)).toEqual(next);
    expect(Array.from(b.score(batchB, new Int32Array(8)))).toEqual(rewards);
  });
});

describe("MnistBandit rewards", () => {
  const actionsArb = (size: number, numActions: number) =>
    fc.array(fc.integer({ min: 0, max: numActions - 1 }), { minLength: size, maxLength: size });

  it("are 0 or 1; exactly the indicator with pFlip 0, its complement with pFlip 1", () => {
    fc.assert(
      fc.property(
        fc.nat(),
        subsetArb,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 50 }),
        (seed, classes, pFlip, size) => {
          const noisy = new MnistBandit({ dataset: data, classes, seed, pFlip });
          const exact = new MnistBandit({ dataset: data, classes, seed, pFlip: 0 });
          const always = new MnistBandit({ dataset: data, classes, seed, pFlip: 1 });
          const batch = noisy.sample(noisy.createBatch(size));
          const actions = fc.sample(actionsArb(size, classes.length), { numRuns: 1, seed })[0] as number[];
          const indicator = actions.map((a, b) => (a === batch.labels[b] ? 1 : 0));
          for (const r of noisy.score(batch, actions)) expect(r === 0 || r === 1).toBe(true);
          expect(Array.from(exact.score(batch, actions))).toEqual(indicator);
          expect(Array.from(always.score(batch, actions))).toEqual(indicator.map((r) => 1 - r));
          expect(Array.from(noisy.scoreNoiseless(batch, actions))).toEqual(indicator);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("flip at a rate within a binomial bound of pFlip", () => {
    fc.assert(
      fc.property(fc.nat(), fc.double({ min: 0, max: 1, noNaN: true }), (seed, pFlip) => {
        const bandit = new MnistBandit({ dataset: data, seed, pFlip });
        const batch = bandit.sample(bandit.createBatch(1000));
        const actions = Int32Array.from(batch.labels, (l, b) =>
          b % 2 === 0 ? l : (l + 1) % bandit.numActions,
        );
        const exact = bandit.scoreNoiseless(batch, actions);
        let flips = 0;
        const rounds = 20;
        for (let r = 0; r < rounds; r++) {
          const noisy = bandit.score(batch, actions);
          for (let b = 0; b < batch.size; b++) if (noisy[b] !== exact[b]) flips++;
        }
        const n = rounds * batch.size;
        // 5 standard errors: a false alarm has probability < 1e-6 per run
        expect(Math.abs(flips / n - pFlip)).toBeLessThanOrEqual(binomialBound(pFlip, n));
      }),
      { numRuns: 20 },
    );
  });

  it("write into a caller's buffer without allocating", () => {
    const bandit = new MnistBandit({ dataset: data, seed: 2 });
    const batch = bandit.sample(bandit.createBatch(4));
    const out = new Float32Array(4);
    expect(bandit.score(batch, batch.labels, out)).toBe(out);
  });
});

describe("MnistBandit bad input", () => {
  it("rejects unknown and duplicate classes", () => {
    expect(() => new MnistBandit({ dataset: data, classes: [0, 11] })).toThrow(ClassSubsetError);
    expect(() => new MnistBandit({ dataset: data, classes: [0, 11] })).toThrow(/unknown class 11/);
    expect(() => new MnistBandit({ dataset: data, classes: [7, 7] })).toThrow(
      /class 7 appears more than once/,
    );
    expect(() => new MnistBandit({ dataset: data, classes: [] })).toThrow(ClassSubsetError);
  });

  it("rejects pFlip outside [0, 1]", () => {
    for (const pFlip of [-0.1, 1.01, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new MnistBandit({ dataset: data, pFlip })).toThrow(InvalidOptionError);
      expect(() => new MnistBandit({ dataset: data, pFlip })).toThrow(
        `pFlip must be a probability in [0, 1], got ${pFlip}`,
      );
    }
  });

  it("scoreActions, used directly, rejects pFlip outside [0, 1] too", () => {
    const labels = Int32Array.of(0, 1);
    const out = new Float32Array(2);
    for (const pFlip of [Number.NaN, -0.5, 2]) {
      expect(() => scoreActions(labels, [0, 1], 2, out, { pFlip, rng: Rng.fromSeed(0) })).toThrow(
        `pFlip must be a probability in [0, 1], got ${pFlip}`,
      );
    }
    expect(Array.from(scoreActions(labels, [0, 0], 2, out, { pFlip: 0, rng: Rng.fromSeed(0) }))).toEqual([
      1, 0,
    ]);
  });

  it("rejects batch sizes below 1 or fractional", () => {
    const bandit = new MnistBandit({ dataset: data });
    for (const size of [0, -3, 2.5, Number.NaN]) {
      expect(() => bandit.createBatch(size)).toThrow(InvalidOptionError);
      expect(() => bandit.createBatch(size)).toThrow(`batch size must be an integer >= 1, got ${size}`);
    }
  });

  it("rejects actions out of range, non-integer, or of the wrong count", () => {
    const bandit = new MnistBandit({ dataset: data });
    const batch = bandit.sample(bandit.createBatch(3));
    expect(() => bandit.score(batch, [0, 9, 1])).toThrow(InvalidActionError);
    expect(() => bandit.score(batch, [0, 9, 1])).toThrow("action[1] must be an integer in [0, 8], got 9");
    expect(() => bandit.score(batch, [0, 1, -1])).toThrow("action[2] must be an integer in [0, 8], got -1");
    expect(() => bandit.score(batch, [0.5, 1, 1])).toThrow("action[0] must be an integer in [0, 8], got 0.5");
    expect(() => bandit.scoreNoiseless(batch, [Number.NaN, 1, 1])).toThrow(/got NaN/);
    expect(() => bandit.score(batch, [0, 1])).toThrow("actions.length must be the batch size 3, got 2");
  });

  it("rejects bad seeds", () => {
    expect(() => new MnistBandit({ dataset: data, seed: -1 })).toThrow(InvalidSeedError);
    expect(() => new MnistBandit({ dataset: data, seed: 0.5 })).toThrow(InvalidSeedError);
  });
});

describe("evaluation", () => {
  it("an oracle scores 1, an inverted oracle 0", async () => {
    const bandit = new MnistBandit({ dataset: data, seed: 1 });
    const oracle = await bandit.evaluate((b) => ({ actions: b.labels }));
    expect(oracle).toEqual({ expectedReward: 1, sampledReward: 1, n: 4000 });
    const wrong = await bandit.evaluate((b) => ({ actions: b.labels.map((l) => (l + 1) % 9) }));
    expect(wrong.expectedReward).toBe(0);
  });

  it("a uniform policy has expected reward exactly 1/A, sampled reward near it", async () => {
    const bandit = new MnistBandit({ dataset: data, seed: 1, classes: [0, 1, 2, 3] });
    const result = await bandit.evaluate((b) => ({ probabilities: new Float32Array(b.size * 4).fill(0.25) }));
    expect(result.expectedReward).toBeCloseTo(0.25, 12);
    expect(Math.abs(result.sampledReward - 0.25)).toBeLessThan(binomialBound(0.25, 4000));
  });

  it("draws n held-out contexts from the test split, in chunks of batchSize", async () => {
    const bandit = new MnistBandit({ dataset: data, seed: 1 });
    const sizes: number[] = [];
    const rows = new Set<number>();
    await bandit.evaluate(
      (b) => {
        sizes.push(b.size);
        for (let i = 0; i < b.size; i++) {
          const row = b.exampleIndices[i] as number;
          rows.add(row);
          expect(bandit.classes[b.labels[i] as number]).toBe(data.test.labels[row]);
        }
        return { actions: b.labels };
      },
      { n: 2500, batchSize: 1000 },
    );
    expect(sizes).toEqual([1000, 1000, 500]);
    // with replacement from the ~1,800-image test pool: fewer distinct rows than draws
    expect(rows.size).toBeLessThan(2500);
    expect(Math.max(...rows)).toBeLessThan(data.test.count);
  });

  it("a constant policy earns the share of its class in the test split", async () => {
    const bandit = new MnistBandit({ dataset: data, seed: 3 });
    const pool = data.test.labels.filter((l) => l !== 2).length;
    const share = data.test.labels.filter((l) => l === 1).length / pool;
    const result = await bandit.evaluate((b) => ({ actions: new Int32Array(b.size).fill(1) }));
    expect(Math.abs(result.expectedReward - share)).toBeLessThan(binomialBound(share, 4000));
  });

  it("is seeded: the same seed gives the same result, the bandit stream moves on", async () => {
    const bandit = new MnistBandit({ dataset: data, seed: 5 });
    const policy = (b: { size: number; contexts: Float32Array }) => ({
      actions: Int32Array.from({ length: b.size }, (_, i) =>
        (b.contexts[i * 784 + 400] as number) > 0 ? 1 : 0,
      ),
    });
    const a = await bandit.evaluate(policy, { seed: 42 });
    expect(await bandit.evaluate(policy, { seed: 42 })).toEqual(a);
    // A seed names the evaluation stream of that seed, never the bare Rng.fromSeed stream.
    expect(await bandit.evaluate(policy, { rng: Rng.derive(42, MNIST_BANDIT_STREAMS.evaluation) })).toEqual(
      a,
    );
    expect(await bandit.evaluate(policy, { rng: Rng.fromSeed(42) })).not.toEqual(a);
    const first = await bandit.evaluate(policy, { n: 50 });
    const second = await bandit.evaluate(policy, { n: 50 });
    expect(first).not.toEqual(second);
    const fresh = new MnistBandit({ dataset: data, seed: 5 });
    expect(await fresh.evaluate(policy, { n: 50 })).toEqual(first);
  });

  it("accepts async policies and rejects malformed outputs", async () => {
    const bandit = new MnistBandit({ dataset: data, seed: 1, classes: [3, 8] });
    const r = await bandit.evaluate(async (b) => ({ actions: b.labels }), { n: 10 });
    expect(r.expectedReward).toBe(1);
    await expect(bandit.evaluate(() => ({ probabilities: new Float32Array(9) }), { n: 3 })).rejects.toThrow(
      "probabilities.length must be 3 x 2, got 9",
    );
    await expect(
      bandit.evaluate(() => ({ probabilities: new Float32Array(6).fill(0.4) }), { n: 3 }),
    ).rejects.toThrow(/sum of probabilities\[0, :\] must be 1, got 0\.8/);
    await expect(bandit.evaluate(() => ({ actions: [0, 2, 1] }), { n: 3 })).rejects.toThrow(
      InvalidActionError,
    );
    await expect(bandit.evaluate(() => ({ actions: [] }), { n: 0 })).rejects.toThrow(
      "n must be an integer >= 1, got 0",
    );
  });
});

describe("drawing from a caller's streams", () => {
  it("sampleFrom and scoreFrom use the given Rng and leave the bandit's streams untouched", () => {
    const data = testData();
    const bandit = new MnistBandit({ dataset: data, seed: 4, pFlip: 0.5 });
    const before = JSON.stringify(bandit.state());
    const a = bandit.sampleFrom(bandit.createBatch(64), Rng.derive(1, "test/caller"));
    const b = bandit.sampleFrom(bandit.createBatch(64), Rng.derive(1, "test/caller"));
    expect(Array.from(a.exampleIndices)).toEqual(Array.from(b.exampleIndices));
    const flips = bandit.scoreFrom(a, a.labels, Rng.derive(2, "test/caller"));
    expect(Array.from(bandit.scoreFrom(a, a.labels, Rng.derive(2, "test/caller")))).toEqual(
      Array.from(flips),
    );
    expect(flips.some((r) => r === 0) && flips.some((r) => r === 1)).toBe(true);
    expect(JSON.stringify(bandit.state())).toBe(before);
    // The bandit's own next batch is the one a fresh bandit of the same seed draws.
    const fresh = new MnistBandit({ dataset: data, seed: 4, pFlip: 0.5 });
    expect(Array.from(bandit.sample(bandit.createBatch(8)).exampleIndices)).toEqual(
      Array.from(fresh.sample(fresh.createBatch(8)).exampleIndices),
    );
  });
});
