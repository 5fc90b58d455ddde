import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ClassSubsetError,
  classSubset,
  DEFAULT_CLASSES,
  PIXEL_MEAN,
  PIXEL_STD,
  STANDARDIZED_MAX,
  STANDARDIZED_MIN,
  STANDARDIZED_PIXEL,
  standardize,
} from "../src/index.js";

describe("standardisation", () => {
  it("maps byte b to (b/255 - 0.1307)/0.3081 rounded once to float32", () => {
    expect(PIXEL_MEAN).toBe(0.1307);
    expect(PIXEL_STD).toBe(0.3081);
    for (let b = 0; b < 256; b++) {
      expect(STANDARDIZED_PIXEL[b]).toBe(Math.fround((b / 255 - 0.1307) / 0.3081));
    }
    expect(STANDARDIZED_MIN).toBeCloseTo(-0.42421, 5);
    expect(STANDARDIZED_MAX).toBeCloseTo(2.82149, 5);
  });

  it("standardize agrees with the table and is monotone", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 100 }), (bytes) => {
        const out = standardize(bytes);
        bytes.forEach((b, i) => {
          expect(out[i]).toBe(STANDARDIZED_PIXEL[b]);
        });
        for (let i = 1; i < 256; i++) {
          expect(STANDARDIZED_PIXEL[i] as number).toBeGreaterThan(STANDARDIZED_PIXEL[i - 1] as number);
        }
      }),
      { numRuns: 50 },
    );
    expect(() => standardize(new Uint8Array(4), new Float32Array(3))).toThrow(/holds 3 values, input has 4/);
  });
});

describe("class subsets", () => {
  it("defaults to the paper code's nine classes (no 2)", () => {
    expect(DEFAULT_CLASSES).toEqual([0, 1, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("numbers actions in the order given", () => {
    fc.assert(
      fc.property(fc.shuffledSubarray([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], { minLength: 1 }), (classes) => {
        const subset = classSubset(classes, 10);
        expect(subset.classes).toEqual(classes);
        for (let c = 0; c < 10; c++) {
          const a = subset.actionOfClass[c] as number;
          expect(a).toBe(classes.indexOf(c));
        }
      }),
    );
  });

  it("rejects unknown, duplicate, non-integer and empty subsets with the offending value", () => {
    expect(() => classSubset([0, 10], 10)).toThrow(ClassSubsetError);
    expect(() => classSubset([0, 10], 10)).toThrow(
      /\[0, 10\]: unknown class 10; the data has classes 0\.\.9/,
    );
    expect(() => classSubset([-1], 10)).toThrow(/unknown class -1/);
    expect(() => classSubset([1.5], 10)).toThrow(/unknown class 1\.5/);
    expect(() => classSubset([3, 4, 3], 10)).toThrow(/class 3 appears more than once/);
    expect(() => classSubset([], 10)).toThrow(/at least one class/);
  });
});
