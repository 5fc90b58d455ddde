import { Rng } from "@sgprop/gym";
import { labelledImages, mnistDataset } from "@sgprop/mnist-bandit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CopyRepeatTask } from "../src/tasks/copyRepeat.js";
import { LineDrawTask } from "../src/tasks/linedraw.js";
import { SeqMnistTask } from "../src/tasks/seqMnist.js";

describe("toy (linedraw) task", () => {
  it("has distinct binary codes, targets on the circle, and is seed-independent in its codes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 1, max: 8 }), (D, P) => {
        fc.pre(P <= 2 ** D);
        const task = new LineDrawTask({ inputDim: D, numPoints: P, magnitude: 2 });
        const codes = new Set<string>();
        for (let k = 0; k < P; k++) {
          const code = Array.from(task.codes.subarray(k * D, (k + 1) * D));
          expect(code.every((b) => b === 0 || b === 1)).toBe(true);
          codes.add(code.join(""));
          expect(Math.hypot(task.points[2 * k] as number, task.points[2 * k + 1] as number)).toBeCloseTo(
            2,
            12,
          );
        }
        expect(codes.size).toBe(P);
        expect(Array.from(new LineDrawTask({ inputDim: D, numPoints: P }).codes)).toEqual(
          Array.from(task.codes),
        );
      }),
      { numRuns: 40 },
    );
  });

  it("shows the code at the first step only and the matching point at the last step only", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 6 }),
        fc.nat(1000),
        (T, B, seed) => {
          const task = new LineDrawTask();
          const b = task.batch(Rng.derive(seed, "bp-lambda-test/toy"), B, T);
          expect(b.inputs).toHaveLength(T);
          expect(b.inputs.slice(1).every((x) => x.every((v) => v === 0))).toBe(true);
          expect(b.targets.slice(0, -1).every((t) => t === null)).toBe(true);
          const last = b.targets[T - 1] as Float64Array;
          b.pairs.forEach((k, n) => {
            expect(Array.from(b.inputs[0]?.subarray(n * 10, (n + 1) * 10) ?? [])).toEqual(
              Array.from(task.codes.subarray(k * 10, (k + 1) * 10)),
            );
            expect([last[2 * n], last[2 * n + 1]]).toEqual([task.points[2 * k], task.points[2 * k + 1]]);
          });
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe("copy-repeat task", () => {
  it("has T = N(R+1)+3, the pattern repeated R times after the delimiter, then the end marker", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.nat(1000),
        (N, R, B, seed) => {
          const task = new CopyRepeatTask();
          task.N = N;
          task.R = R;
          const b = task.batch(Rng.derive(seed, "bp-lambda-test/copy"), B);
          const T = N * (R + 1) + 3;
          expect(b.inputs).toHaveLength(T);
          expect(b.targets.filter((t) => t !== null)).toHaveLength(R * N + 1);
          for (let n = 0; n < B; n++) {
            expect(b.inputs[0]?.[n * 10 + 8]).toBe(1);
            expect(b.inputs[N + 1]?.[n * 10 + 9]).toBeCloseTo(R / 10, 12);
            for (let r = 0; r < R; r++) {
              for (let p = 0; p < N; p++) {
                const shown = Array.from(b.inputs[1 + p]?.subarray(n * 10, n * 10 + 8) ?? []);
                const wanted = Array.from(b.targets[N + 2 + r * N + p]?.subarray(n * 9, n * 9 + 8) ?? []);
                expect(wanted).toEqual(shown);
              }
            }
            expect(b.targets[T - 1]?.[n * 9 + 8]).toBe(1);
            // Nothing else is asked for: the delimiter channel is 0 before the end.
            for (let t = N + 2; t < T - 1; t++) expect(b.targets[t]?.[n * 9 + 8]).toBe(0);
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  it("increments R and N in turn, as the authors' curriculum, on batches below 0.15 bits", () => {
    const task = new CopyRepeatTask();
    const seen: [number, number][] = [];
    for (let i = 0; i < 6; i++) {
      expect(task.observe(0.2 * Math.LN2)).toBe(false);
      expect(task.observe(0.1 * Math.LN2)).toBe(true);
      seen.push([task.N, task.R]);
    }
    expect(seen).toEqual([
      [2, 1],
      [2, 2],
      [3, 2],
      [3, 3],
      [4, 3],
      [4, 4],
    ]);
  });
});

describe("sequential MNIST task", () => {
  it("feeds an image row by row, pixels in [0, 1], with a one-hot label at the last row", () => {
    const images = Uint8Array.from({ length: 3 * 4 * 5 }, (_, i) => (i * 37) % 256);
    const split = labelledImages(images, Uint8Array.from([2, 0, 1]), 4, 5, "test");
    const task = new SeqMnistTask(mnistDataset("test", split, split));
    const b = task.batch(split, 2, null, [2, 0]);
    expect(b.inputs).toHaveLength(4);
    expect(b.inputs[1]?.[3]).toBeCloseTo((images[2 * 20 + 5 + 3] as number) / 255, 12);
    expect(b.inputs[3]?.[5 + 4]).toBeCloseTo((images[0 * 20 + 15 + 4] as number) / 255, 12);
    expect(Array.from(b.targets[3] ?? [])).toEqual([0, 1, 0, 0, 0, 1]);
    expect(b.targets.slice(0, 3).every((t) => t === null)).toBe(true);
  });
});
