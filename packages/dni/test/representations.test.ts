import { describe, expect, it } from "vitest";
import {
  classifierProbe,
  downsample,
  type Features,
  inputRegressionProbe,
  rdm,
  ridge,
} from "../src/index.js";

describe("representation analysis", () => {
  it("RDM: 0 on the diagonal, 0 for scaled copies, 2 for negated patterns, 1 for orthogonal centred ones", () => {
    const f: Features = {
      rows: 4,
      cols: 4,
      data: Float64Array.from([1, 2, 3, 4, 2, 4, 6, 8, -1, -2, -3, -4, 1, -1, -1, 1]),
    };
    const d = rdm(f);
    expect(d[0]).toBeCloseTo(0, 12);
    expect(d[1]).toBeCloseTo(0, 12);
    expect(d[2]).toBeCloseTo(2, 12);
    expect(d[3]).toBeCloseTo(1, 12);
    expect(d[3 * 4 + 0]).toBeCloseTo(d[3] as number, 15);
  });

  it("downsample averages blocks", () => {
    const m = Float64Array.from({ length: 16 }, (_, i) => i);
    expect(Array.from(downsample(m, 4, 2))).toEqual([2.5, 4.5, 10.5, 12.5]);
  });

  it("ridge with a tiny penalty recovers an affine map exactly", () => {
    const rows = 30;
    const x = Float64Array.from({ length: rows * 3 }, (_, i) => Math.sin(i * 1.7) + (i % 5) * 0.1);
    const t = new Float64Array(rows * 2);
    for (let i = 0; i < rows; i++) {
      t[i * 2] = 2 * (x[i * 3] as number) - (x[i * 3 + 2] as number) + 0.5;
      t[i * 2 + 1] = (x[i * 3 + 1] as number) - 1;
    }
    const predict = ridge({ rows, cols: 3, data: x }, { rows, cols: 2, data: t }, 1e-10);
    const p = predict({ rows, cols: 3, data: x });
    for (let i = 0; i < t.length; i++) expect(p[i]).toBeCloseTo(t[i] as number, 6);
    const r2 = inputRegressionProbe(
      { rows, cols: 3, data: x },
      { rows, cols: 2, data: t },
      { rows, cols: 3, data: x },
      { rows, cols: 2, data: t },
      1e-10,
    );
    expect(r2).toBeCloseTo(1, 8);
  });

  it("the classifier probe separates linearly separable classes and not shuffled ones", () => {
    const rows = 60;
    const labels = Array.from({ length: rows }, (_, i) => i % 3);
    const data = new Float64Array(rows * 2);
    labels.forEach((l, i) => {
      // Three clusters at the corners of a triangle, with a little spread.
      data[i * 2] = (l === 0 ? -3 : l === 1 ? 3 : 0) + 0.3 * Math.cos(i);
      data[i * 2 + 1] = (l === 2 ? 3 : 0) + 0.3 * Math.sin(i);
    });
    const f = { rows, cols: 2, data };
    expect(classifierProbe(f, labels, f, labels, 3, 1e-6)).toBe(1);
    const noise = {
      rows,
      cols: 2,
      data: Float64Array.from({ length: rows * 2 }, (_, i) => (Math.sin(i * 12.9898) * 43758.5453) % 1),
    };
    expect(classifierProbe(noise, labels, noise, labels, 3, 1e-6)).toBeLessThan(0.8);
  });
});
