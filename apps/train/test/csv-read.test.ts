import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CsvAppender, readMetricsCsv, truncateMetricsCsv } from "../src/run/files.js";

const tmp = mkdtempSync(join(tmpdir(), "sgprop-csv-"));

describe("metrics CSVs are read with a CSV parser", () => {
  it("a column name with a comma or a quote round-trips (the writer quotes it)", () => {
    const path = join(tmp, "quoted.csv");
    const csv = new CsvAppender(path);
    csv.append({ "charts/step": 1, 'eval/reward, "noiseless"': 0.5 });
    csv.append({ "charts/step": 2, 'eval/reward, "noiseless"': 0.75 });
    csv.close();
    expect(readMetricsCsv(path)).toEqual({
      columns: ["charts/step", 'eval/reward, "noiseless"'],
      rows: [
        [1, 0.5],
        [2, 0.75],
      ],
    });
  });

  it("truncation keeps quoted headers intact and drops a partial last row", () => {
    const path = join(tmp, "truncate.csv");
    writeFileSync(path, '"a,b",c\n1,2\n3,4\n5,');
    expect(readMetricsCsv(path).rows).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(truncateMetricsCsv(path, 1)).toEqual(["a,b", "c"]);
    expect(readFileSync(path, "utf8")).toBe('"a,b",c\n1,2\n');
  });

  it("empty cells read as NaN; a file without a complete line has no columns", () => {
    const path = join(tmp, "empty-cells.csv");
    writeFileSync(path, "a,b\n1,\n");
    expect(readMetricsCsv(path).rows).toEqual([[1, Number.NaN]]);
    writeFileSync(path, "a,b");
    expect(readMetricsCsv(path)).toEqual({ columns: [], rows: [] });
  });
});
