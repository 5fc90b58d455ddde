import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BpLambdaTrainer, type BpLambdaTrainOptions, restoreBpLambdaTrainer } from "../src/index.js";

const tmp = mkdtempSync(join(tmpdir(), "bp-lambda-test-"));

const tiny: Record<string, BpLambdaTrainOptions> = {
  toy: {
    task: "toy",
    hiddenSize: 5,
    batchSize: 3,
    epochs: 2,
    batchesPerEpoch: 2,
    length: 2,
    maxLength: 4,
    solvedWindow: 1,
  },
  "copy-repeat": { task: "copy-repeat", hiddenSize: 4, batchSize: 3, epochs: 2, batchesPerEpoch: 2 },
  "seq-mnist": {
    task: "seq-mnist",
    hiddenSize: 3,
    batchSize: 2,
    epochs: 1,
    batchesPerEpoch: 2,
    evalSize: 10,
  },
};
const methods: BpLambdaTrainOptions[] = [
  { method: "bp-lambda", lambda: 0 },
  { method: "bp-lambda", lambda: 0.5 },
  { method: "bptt", n: 2 },
  { method: "bptt" },
  { method: "bptt-sg", n: 2 },
  { method: "no-bptt" },
];

describe.each(Object.keys(tiny))("%s", (task) => {
  it.each(methods)("runs every method to the end with finite metrics (%o)", async (method) => {
    const trainer = new BpLambdaTrainer({ ...tiny[task], ...method });
    let rows = 0;
    while (trainer.completed < trainer.total) {
      const { train, eval: evalRow } = await trainer.next();
      for (const [k, v] of Object.entries({ ...train, ...evalRow })) expect(Number.isFinite(v), k).toBe(true);
      rows++;
    }
    expect(rows).toBeGreaterThan(0);
    expect(Number.isFinite(trainer.summary().score)).toBe(true);
  });
});

describe("checkpoints", () => {
  it.each(["toy", "copy-repeat"])(
    "a restored %s run continues exactly as the uninterrupted one",
    async (task) => {
      const options = { ...tiny[task], method: "bp-lambda", lambda: 0.5, epochs: 3 } as const;
      const straight = new BpLambdaTrainer(options);
      const paused = new BpLambdaTrainer(options);
      for (let i = 0; i < 3; i++) {
        await straight.next();
        await paused.next();
      }
      const dir = join(tmp, `ckpt-${task}`);
      await paused.saveCheckpoint(dir);
      const resumed = await restoreBpLambdaTrainer(dir);
      expect(resumed.completed).toBe(3);
      while (straight.completed < straight.total) {
        const a = await straight.next();
        const b = await resumed.next();
        expect(b).toEqual(a);
      }
      expect(Array.from(resumed.model.core.params.w_hh)).toEqual(Array.from(straight.model.core.params.w_hh));
      expect(resumed.summary()).toEqual(straight.summary());
    },
  );
});

describe("the fixed linear RNN of the toy task", () => {
  async function alignment(lambda: number) {
    const trainer = new BpLambdaTrainer({
      task: "toy",
      fixedRnn: true,
      lambda,
      sgLearningRate: 1e-3,
      epochs: 1,
      batchesPerEpoch: 250,
      seed: 1,
    });
    const w = Float64Array.from(trainer.model.core.params.w_hh);
    const first = (await trainer.next()).train["sg/alignment_t0"];
    expect(Number.isNaN(first)).toBe(true); // zero-initialised synthesiser: no direction yet
    let sum = 0;
    while (trainer.completed < trainer.total) {
      const a = (await trainer.next()).train["sg/alignment"] as number;
      if (trainer.completed > 150) sum += a;
    }
    expect(Array.from(trainer.model.core.params.w_hh)).toEqual(Array.from(w));
    return sum / 100;
  }

  it("freezes the RNN, and BP(1)'s synthetic gradients align with the true ones far better than BP(0)'s (Fig. 2)", async () => {
    const [one, zero] = [await alignment(1), await alignment(0)];
    expect(one).toBeGreaterThan(0.6);
    expect(one).toBeGreaterThan(zero + 0.3);
  });
});
