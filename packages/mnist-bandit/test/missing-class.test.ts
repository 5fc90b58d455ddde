import { describe, expect, it } from "vitest";
import { ClassSubsetError, type LabelledImages, MnistBandit, type MnistDataset } from "../src/index.js";

function split(labels: number[]): LabelledImages {
  return {
    count: labels.length,
    rows: 2,
    cols: 2,
    images: new Uint8Array(labels.length * 4),
    labels: Uint8Array.from(labels),
  };
}

describe("a class with no example", () => {
  it("is refused by name, not trained as a class that is never rewarded", () => {
    // Labels 0, 1 and 3 in train; 2 only in test.
    const dataset: MnistDataset = {
      source: "test",
      train: split([0, 1, 3, 0]),
      test: split([0, 1, 2, 3]),
      numClasses: 4,
    };
    expect(() => new MnistBandit({ dataset, classes: [0, 1, 2] })).toThrow(ClassSubsetError);
    expect(() => new MnistBandit({ dataset, classes: [0, 1, 2] })).toThrow(
      /train split has no example of class 2/,
    );
    expect(new MnistBandit({ dataset, classes: [0, 1, 3] }).numActions).toBe(3);
  });
});
