/** The files of a results folder, relative to it. */
export const RUN_FILES = {
  config: "config.json",
  metrics: "metrics.csv",
  eval: "eval.csv",
  summary: "summary.json",
  error: "error.json",
  checkpoints: "checkpoints",
  checkpointIndex: "checkpoints/index.json",
  curves: "curves",
  /** `sgprop train dni`: the experiment's table or analysis, next to the paper's numbers. */
  results: "results.md",
  /** `sgprop diagnose`: one folder per diagnosed checkpoint (diagnose.csv, .json, figures). */
  diagnose: "diagnose",
  lock: ".sgprop-lock",
} as const;

/**
 * Every name the harness writes at the top of a run folder. `--overwrite` removes a folder only
 * when it holds nothing else, so it never deletes a file it cannot prove it wrote.
 */
export const RUN_FOLDER_NAMES: readonly string[] = [
  RUN_FILES.config,
  RUN_FILES.metrics,
  RUN_FILES.eval,
  RUN_FILES.summary,
  RUN_FILES.error,
  RUN_FILES.checkpoints,
  `${RUN_FILES.curves}.svg`,
  `${RUN_FILES.curves}.png`,
  RUN_FILES.results,
  RUN_FILES.diagnose,
  RUN_FILES.lock,
];

/** Temporary siblings left by a killed atomic write (`x.tmp-<pid>`, `x.old-<pid>-<time>`, lock files). */
export function isLeftover(name: string): boolean {
  return /\.(tmp|old|stale)-[\w.-]+$/.test(name) || name.startsWith(`${RUN_FILES.lock}.`);
}
