import { ConfigFileError } from "../errors.js";
import { readSettingsFile } from "../options/config-file.js";
import type { TrainKind } from "../options/presets.js";
import { presetLayer, type ResolvedOptions, resolveOptions, type SettingsLayer } from "../options/resolve.js";

export interface SettingsRequest {
  readonly kind: TrainKind;
  readonly preset?: string;
  readonly configFile?: string;
  readonly cli: Readonly<Record<string, unknown>>;
}

export interface ResolvedSettings {
  readonly options: ResolvedOptions;
  readonly preset?: string;
  /** Harness settings found in the config file (checkpointEvery, keepCheckpoints, out). */
  readonly harness: Readonly<Record<string, unknown>>;
}

const HARNESS_KEYS = ["checkpointEvery", "keepCheckpoints", "out", "checkpoint-every", "keep-checkpoints"];

/** paper defaults < preset (flag, else the config file's) < config file < flags. */
export function resolveSettings(req: SettingsRequest): ResolvedSettings {
  const layers: SettingsLayer[] = [];
  let fileValues: Record<string, unknown> = {};
  const harness: Record<string, unknown> = {};
  if (req.configFile !== undefined) {
    fileValues = readSettingsFile(req.configFile);
    for (const key of HARNESS_KEYS) {
      if (key in fileValues) {
        harness[key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = fileValues[key];
        delete fileValues[key];
      }
    }
  }
  const filePreset = fileValues.preset;
  delete fileValues.preset;
  if (filePreset !== undefined && typeof filePreset !== "string") {
    throw new ConfigFileError(
      `preset in ${req.configFile} must be a name, got ${JSON.stringify(filePreset)}`,
    );
  }
  const preset = req.preset ?? filePreset;
  if (preset !== undefined) {
    layers.push(
      presetLayer(req.kind, preset, req.preset === undefined ? `preset in ${req.configFile}` : "--preset"),
    );
  }
  if (req.configFile !== undefined) layers.push({ source: `config ${req.configFile}`, values: fileValues });
  layers.push({ source: "the command line", values: req.cli, isCli: true });
  return { options: resolveOptions(req.kind, layers), ...(preset === undefined ? {} : { preset }), harness };
}
