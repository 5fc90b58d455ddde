import { bundledMnist } from "./bundled.js";
import type { MnistDataset } from "./dataset.js";
import { loadIdxDataset } from "./idx.js";

/** Where the bandit, the env and the evaluation helper take their data from. */
export interface DataSourceOptions {
  /** The data. Default: the bundled 10,000 digits (or the IDX files in `dataDir` when given). */
  dataset?: MnistDataset;
  /** A directory with the four standard IDX files (plain or .gz), used when `dataset` is absent. */
  dataDir?: string;
}

/** `dataset` if given, else the IDX files in `dataDir`, else the bundled digits (loaded once). */
export function resolveDataset(options: DataSourceOptions): MnistDataset {
  if (options.dataset !== undefined) return options.dataset;
  return options.dataDir !== undefined ? loadIdxDataset(options.dataDir) : bundledMnist();
}
