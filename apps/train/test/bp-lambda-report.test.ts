import { describe, expect, it } from "vitest";
import { bpLambdaTable2, meanSem } from "../src/report/bp-lambda.js";

describe("BP(lambda) Table 2 report", () => {
  it("puts our scores beside the paper's and builds the lambda and n-step figure rows", () => {
    const { markdown, lambdaRows, nRows } = bpLambdaTable2(
      {
        toy: {
          "BP(0)": [4, 8, 6],
          "BP(1)": [48, 40, 44],
          "BPTT n=3": [20, 22, 24],
          "BPTT+SG n=3": [8, 8, 8],
        },
      },
      [0, 1, 2],
    );
    expect(markdown).toContain("| BP(0) | 4, 8, 6 | 6.0 | 16 |");
    expect(markdown).toContain("| BPTT n=3 | 20, 22, 24 | 22.0 |  |");
    const ours = lambdaRows.filter((r) => r.series === "ours").map((r) => [r.x, r.mean]);
    expect(ours).toEqual([
      [0, 6],
      [1, 44],
    ]);
    expect(lambdaRows.find((r) => r.series === "paper" && r.x === 1)?.mean).toBe(90);
    expect(nRows.map((r) => [r.series, r.x, r.mean])).toEqual([
      ["truncated BPTT", 3, 22],
      ["BPTT + n-step SG", 3, 8],
      ["BP(1)", 3, 44],
    ]);
  });

  it("meanSem uses the sample standard deviation", () => {
    const s = meanSem([1, 2, 3]);
    expect(s.mean).toBe(2);
    expect(s.hi - s.mean).toBeCloseTo(1 / Math.sqrt(3), 12);
    expect(meanSem([5])).toEqual({ mean: 5, lo: 5, hi: 5, n: 1 });
  });
});
