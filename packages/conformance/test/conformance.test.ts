import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type CaseChecker,
  Comparison,
  checkerTable,
  goldenExpected,
  goldenScalar,
  goldenTensor,
  MalformedGoldenError,
  parseGoldenFile,
  runConformance,
} from "../src/index.js";

const valid = {
  format: "sgprop-golden/1",
  case: "toy",
  config: { lr: 0.1 },
  tensors: { x: { shape: [2, 2], data: [1, 2, 3, 4] } },
  expected: { y: { shape: [2], data: [3, 7] }, loss: 0.5 },
};

function tmpFile(name: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), "golden-"));
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** A checker that sums the rows of x, optionally wrongly. */
function toyChecker(offset = 0): CaseChecker {
  return {
    case: "toy",
    check(file) {
      const x = goldenTensor(file, "x", [2, 2]).data;
      const c = new Comparison();
      c.tensor("y", [x[0]! + x[1]! + offset, x[2]! + x[3]!], goldenExpected(file, "y"), {
        abs: 1e-9,
        rel: 0,
      });
      c.scalar("loss", 0.5, goldenScalar(file, "loss"), { abs: 0, rel: 1e-12 });
      return c.outcome();
    },
  };
}

describe("parseGoldenFile", () => {
  it("accepts a valid file and exposes its tensors", () => {
    const f = parseGoldenFile(JSON.stringify(valid));
    expect(goldenTensor(f, "x").shape).toEqual([2, 2]);
    expect(goldenScalar(f, "loss")).toBe(0.5);
  });

  it.each([
    ["not JSON", "{", /not valid JSON/],
    ["wrong format", JSON.stringify({ ...valid, format: "other/1" }), /format must be/],
    ["missing case", JSON.stringify({ ...valid, case: undefined }), /"case"/],
    [
      "shape/data mismatch",
      JSON.stringify({ ...valid, tensors: { x: { shape: [3], data: [1] } } }),
      /needs 3 values/,
    ],
    [
      "non-number datum",
      JSON.stringify({ ...valid, tensors: { x: { shape: [1], data: ["a"] } } }),
      /non-number/,
    ],
    [
      "bad shape",
      JSON.stringify({ ...valid, tensors: { x: { shape: [-1], data: [] } } }),
      /not a list of sizes/,
    ],
  ])("rejects %s", (_name, text, message) => {
    expect(() => parseGoldenFile(text, "f.json")).toThrow(MalformedGoldenError);
    expect(() => parseGoldenFile(text, "f.json")).toThrow(message);
  });

  it("checks requested shapes", () => {
    const f = parseGoldenFile(JSON.stringify(valid));
    expect(() => goldenTensor(f, "x", [4])).toThrow(/shape \[2,2\], expected \[4\]/);
    expect(() => goldenTensor(f, "nope")).toThrow(/missing tensor "nope"/);
  });
});

describe("Comparison", () => {
  it("passes within tolerance and reports the worst errors", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: 1, maxLength: 20 }),
        (xs) => {
          const c = new Comparison();
          const actual = xs.map((x) => x * (1 + 1e-7));
          expect(c.tensor("t", actual, xs, { abs: 1e-12, rel: 2e-7 })).toBe(true);
          const o = c.outcome();
          expect(o.pass).toBe(true);
          expect(o.worstRel).toBeLessThanOrEqual(1.0000001e-7);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("fails on an entry outside tolerance, on NaN and on length mismatch", () => {
    const c = new Comparison();
    expect(c.tensor("t", [1, 2.1], [1, 2], { abs: 1e-3, rel: 0 })).toBe(false);
    expect(c.outcome().firstMismatch).toMatch(/^t\[1\]: 2.1 != 2/);
    expect(new Comparison().tensor("n", [Number.NaN], [0], { abs: 1, rel: 1 })).toBe(false);
    expect(new Comparison().tensor("l", [1], [1, 2], { abs: 1, rel: 1 })).toBe(false);
    expect(new Comparison().exact("e", [1, 0], [1, 1])).toBe(false);
  });

  it("an empty comparison does not pass", () => {
    expect(new Comparison().outcome().pass).toBe(false);
  });
});

describe("runConformance", () => {
  it("prints one line per file and the closing summary; fails wrong, unknown and malformed files", async () => {
    const good = tmpFile("good.json", JSON.stringify(valid));
    const unknown = tmpFile("unknown.json", JSON.stringify({ ...valid, case: "mystery" }));
    const broken = tmpFile("broken.json", "{");
    const lines: string[] = [];
    const s = await runConformance(
      [good, unknown, broken, join(tmpdir(), "missing-golden.json")],
      [toyChecker()],
      (l) => lines.push(l),
    );
    expect(s.passed).toBe(1);
    expect(s.failed).toBe(3);
    expect(lines[0]).toMatch(/^PASS {2}toy {2}.*good\.json {2}max abs err 0\.00e\+0/);
    expect(lines[1]).toMatch(/^FAIL {2}mystery .*unknown case "mystery" \(known cases: toy\)/);
    expect(lines[2]).toMatch(/^FAIL .*malformed file: .*not valid JSON/);
    expect(lines[3]).toMatch(/^FAIL .*cannot read/);
    expect(lines.at(-1)).toBe("1 passed, 3 failed");
  });

  it("reports the first mismatch of a wrong checker", async () => {
    const good = tmpFile("good.json", JSON.stringify(valid));
    const lines: string[] = [];
    const s = await runConformance([good], [toyChecker(1)], (l) => lines.push(l));
    expect(s.failed).toBe(1);
    expect(lines[0]).toMatch(/^FAIL .*first mismatch: y\[0\]: 4 != 3/);
  });

  it("refuses two checkers for one case", () => {
    expect(() => checkerTable([toyChecker(), toyChecker()])).toThrow(/two conformance checkers/);
  });
});
