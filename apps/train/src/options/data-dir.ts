import { existsSync, statSync } from "node:fs";
import { type LabelledImages, loadIdxDataset } from "@sgprop/mnist-bandit";
import { InvalidOptionError } from "../errors.js";
import type { ResolvedOptions } from "./resolve.js";

const MNIST_CLASSES = 10;

function labelCounts(split: LabelledImages): { counts: number[]; stray: number | undefined } {
  const counts = new Array<number>(MNIST_CLASSES).fill(0);
  let stray: number | undefined;
  for (let i = 0; i < split.count; i++) {
    const label = split.labels[i] as number;
    if (label < MNIST_CLASSES) counts[label] = (counts[label] as number) + 1;
    else stray ??= label;
  }
  return { counts, stray };
}

/**
 * Checks `--data-dir` before a run starts: the folder holds readable MNIST IDX files, every label
 * is a digit 0..9 (the class count is not "largest label + 1"), and every class of `--classes`
 * has examples in both splits (a class that never appears would train and evaluate silently
 * without it).
 */
export function checkBanditData(options: ResolvedOptions): void {
  const dir = options.dataDir;
  if (typeof dir !== "string") return;
  const allowed = "a folder holding the four MNIST IDX files (train/t10k images and labels, optionally .gz)";
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new InvalidOptionError("--data-dir", dir, allowed);
  let data: ReturnType<typeof loadIdxDataset>;
  try {
    data = loadIdxDataset(dir);
  } catch (error) {
    throw new InvalidOptionError("--data-dir", dir, `${allowed} (${(error as Error).message})`);
  }
  for (const [name, split] of [
    ["training", data.train],
    ["test", data.test],
  ] as const) {
    const { counts, stray } = labelCounts(split);
    if (stray !== undefined) {
      throw new InvalidOptionError(
        "--data-dir",
        dir,
        `MNIST labels 0..9, but its ${name} labels include ${stray}`,
      );
    }
    const classes = options.classes as readonly number[];
    const missing = classes.filter((c) => counts[c] === 0);
    if (missing.length > 0) {
      throw new InvalidOptionError(
        "--classes",
        classes.join(","),
        `classes that occur in the data, but the ${name} split of ${dir} has no example of ${missing.join(", ")}`,
      );
    }
  }
}
