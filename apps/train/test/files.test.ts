import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CsvAppender, readMetricsCsv, truncateMetricsCsv, writeJsonAtomic } from "../src/run/files.js";
import { mean, sem, summariseSeries } from "../src/run/metrics.js";

const tmp = mkdtempSync(join(tmpdir(), "sgprop-files-"));

describe("CsvAppender", () => {
  it("writes a header then one complete line per row, numbers round-tripping exactly", () => {
    const path = join(tmp, "a.csv");
    const csv = new CsvAppender(path);
    csv.append({ "charts/step": 1, "x/y": 0.1 + 0.2 });
    csv.append({ "charts/step": 2, "x/y": -1e-17 });
    csv.close();
    expect(readFileSync(path, "utf8")).toBe("charts/step,x/y\n1,0.30000000000000004\n2,-1e-17\n");
    expect(readMetricsCsv(path).rows).toEqual([
      [1, 0.1 + 0.2],
      [2, -1e-17],
    ]);
  });

  it("reading drops a partial last line; truncation keeps the first rows and continues appending", () => {
    const path = join(tmp, "b.csv");
    writeFileSync(path, "u,v\n1,10\n2,20\n3,30\n4,4");
    expect(readMetricsCsv(path).rows).toHaveLength(3);
    const header = truncateMetricsCsv(path, 2);
    expect(header).toEqual(["u", "v"]);
    const csv = new CsvAppender(path, header, 2);
    csv.append({ u: 3, v: 33 });
    csv.close();
    expect(readFileSync(path, "utf8")).toBe("u,v\n1,10\n2,20\n3,33\n");
    expect(() => truncateMetricsCsv(path, 9)).toThrow(/fewer than the 9/);
  });

  it("writeJsonAtomic leaves no temporary file", () => {
    const path = join(tmp, "c.json");
    writeJsonAtomic(path, { a: 1 });
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ a: 1 });
    expect(() => readFileSync(`${path}.tmp-${process.pid}`)).toThrow();
  });
});

describe("statistics", () => {
  it("SEM is the sample standard deviation over sqrt(n)", () => {
    const xs = [1, 2, 3, 4];
    const sd = Math.sqrt(xs.reduce((s, x) => s + (x - 2.5) ** 2, 0) / 3);
    expect(sem(xs)).toBeCloseTo(sd / 2, 15);
    expect(sem([5])).toBe(0);
    expect(mean(xs)).toBe(2.5);
  });

  it("summaries: last, mean of the last tenth, best, AUC", () => {
    const s = summariseSeries(Array.from({ length: 20 }, (_, i) => i));
    expect(s).toEqual({ last: 19, lastTenthMean: 18.5, best: 19, auc: 9.5 });
    expect(summariseSeries([Number.NaN])).toBeUndefined();
  });
});
