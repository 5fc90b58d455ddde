import { InvalidOptionError, UsageError } from "../errors.js";
import { banditParams } from "./bandit.js";
import { bpLambdaParams, checkBpLambda } from "./bp-lambda.js";
import { dniParams } from "./dni.js";
import { checkMemory } from "./memory.js";
import { checkSgRule, popgymParams } from "./popgym.js";
import { presets, type TrainKind } from "./presets.js";
import {
  closest,
  flagOf,
  isDerived,
  keyOf,
  type ParamSpec,
  type ParamValue,
  parseParamValue,
} from "./schema.js";

export type ResolvedOptions = Readonly<Record<string, ParamValue>>;

export function paramsOf(kind: TrainKind): readonly ParamSpec[] {
  if (kind === "bp-lambda") return bpLambdaParams;
  return kind === "popgym" ? popgymParams : kind === "dni" ? dniParams : banditParams;
}

/** One layer of settings and where it came from (for error messages). */
export interface SettingsLayer {
  /** e.g. "--flags", "config run.yaml", "preset quick". */
  readonly source: string;
  /** Raw values keyed by option key (camelCase) or flag name (kebab-case). */
  readonly values: Readonly<Record<string, unknown>>;
  /** CLI values name the offending flag; file values name the key and the file. */
  readonly isCli?: boolean;
}

export function presetNames(kind: TrainKind): string[] {
  return Object.keys(presets[kind]);
}

export function presetLayer(kind: TrainKind, name: string, where = "--preset"): SettingsLayer {
  const preset = presets[kind][name];
  if (preset === undefined) {
    throw new InvalidOptionError(where, name, `one of ${presetNames(kind).join(", ")}`);
  }
  return { source: `preset ${name}`, values: preset.values };
}

/** Validates a layer's keys and values; unknown keys fail with the allowed keys (and a guess). */
export function validateLayer(kind: TrainKind, layer: SettingsLayer): Record<string, ParamValue> {
  const specs = paramsOf(kind);
  const byKey = new Map(specs.map((s) => [s.key, s]));
  const out: Record<string, ParamValue> = {};
  for (const [rawKey, raw] of Object.entries(layer.values)) {
    if (raw === undefined) continue;
    const key = keyOf(rawKey);
    const spec = byKey.get(key);
    if (spec === undefined) {
      const guess = closest(key, [...byKey.keys()]);
      throw new UsageError(
        `unknown setting ${JSON.stringify(rawKey)} in ${layer.source}${guess ? ` (did you mean ${JSON.stringify(guess)}?)` : ""}; allowed: ${[...byKey.keys()].join(", ")}`,
      );
    }
    const where = layer.isCli ? flagOf(key) : `${key} in ${layer.source}`;
    out[key] = parseParamValue(spec, raw, where);
  }
  return out;
}

/**
 * Merges layers (later wins) over the paper's defaults and fills derived defaults in declaration
 * order; the result has every non-optional setting.
 */
export function resolveOptions(kind: TrainKind, layers: readonly SettingsLayer[]): ResolvedOptions {
  const explicit: Record<string, ParamValue> = {};
  for (const layer of layers) Object.assign(explicit, validateLayer(kind, layer));
  const resolved = fillDefaults(kind, explicit);
  checkMemory(kind, resolved, fillDefaults(kind, {}));
  checkCrossConstraints(kind, resolved);
  return resolved;
}

function fillDefaults(
  kind: TrainKind,
  explicit: Readonly<Record<string, ParamValue>>,
): Record<string, ParamValue> {
  const resolved: Record<string, ParamValue> = {};
  for (const spec of paramsOf(kind)) {
    const given = explicit[spec.key];
    if (given !== undefined) {
      resolved[spec.key] = given;
      continue;
    }
    const d = spec.default;
    const value = isDerived(d) ? d.derive(resolved) : d;
    if (value !== undefined) resolved[spec.key] = value;
  }
  return resolved;
}

/** POPGym env k's t-th reset uses seed + k + t * numEnvs, which numpy's seeding needs below 2^32. */
const MAX_REFERENCE_SEED = 2 ** 32 - 1;

function checkCrossConstraints(kind: TrainKind, r: Record<string, ParamValue>): void {
  if (r.algorithm === "sgprop" && r.model !== "sparsenet") {
    throw new InvalidOptionError(
      "--algorithm",
      "sgprop",
      `backprop for --model ${r.model} (synthetic gradients need --model sparsenet)`,
    );
  }
  if (kind === "dni") return;
  if (kind === "bp-lambda") {
    checkBpLambda(r);
  } else if (kind === "popgym") {
    const lastSeed = (r.seed as number) + (r.numEnvs as number) * ((r.batches as number) + 1);
    if (lastSeed > MAX_REFERENCE_SEED) {
      if ((r.numEnvs as number) * ((r.batches as number) + 1) > MAX_REFERENCE_SEED) {
        throw new InvalidOptionError(
          "--num-envs",
          r.numEnvs,
          `an integer with --num-envs * (--batches + 1) below 2^32 (env reset seeds count up by --num-envs per batch)`,
        );
      }
      throw new InvalidOptionError(
        "--seed",
        r.seed,
        `an integer <= ${MAX_REFERENCE_SEED - (r.numEnvs as number) * ((r.batches as number) + 1)} (env resets use seed + env + batch * --num-envs, which must stay below 2^32)`,
      );
    }
    if ((r.rolloutLength as number) > (r.episodeLength as number)) {
      throw new InvalidOptionError(
        "--rollout-length",
        r.rolloutLength,
        `an integer <= --episode-length (${r.episodeLength})`,
      );
    }
    const dims = r.mazeDims as readonly number[];
    if (dims.some((d) => d % 2 !== 0)) {
      throw new InvalidOptionError("--maze-dims", dims.join(","), "two even integers >= 6 (e.g. 6,6)");
    }
    if ((r.numInputNeurons as number) > (r.width as number)) {
      throw new InvalidOptionError(
        "--num-input-neurons",
        r.numInputNeurons,
        `an integer <= --width (${r.width})`,
      );
    }
    if ((r.numParents as number) > (r.width as number)) {
      throw new InvalidOptionError("--num-parents", r.numParents, `an integer <= --width (${r.width})`);
    }
    checkSgRule(r);
  } else {
    const classes = r.classes as readonly number[];
    if (classes.some((c) => c > 9)) {
      throw new InvalidOptionError("--classes", classes.join(","), "MNIST digits 0..9");
    }
    if (new Set(classes).size !== classes.length) {
      throw new InvalidOptionError(
        "--classes",
        classes.join(","),
        "distinct MNIST digits (a class appears twice)",
      );
    }
    if (classes.length < 2) {
      throw new InvalidOptionError(
        "--classes",
        classes.join(","),
        "at least two MNIST digits (one action is no choice)",
      );
    }
    if (r.model === "sparsenet" && (r.numParents as number) > (r.width as number)) {
      throw new InvalidOptionError("--num-parents", r.numParents, `an integer <= --width (${r.width})`);
    }
    if ((r.numEvals as number) > (r.steps as number)) {
      throw new InvalidOptionError("--num-evals", r.numEvals, `an integer <= --steps (${r.steps})`);
    }
  }
}
