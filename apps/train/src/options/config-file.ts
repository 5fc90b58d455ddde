import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parse as parseYaml } from "yaml";
import { ConfigFileError } from "../errors.js";

/**
 * Reads a JSON or YAML settings file into a plain object. A run's own `config.json` is accepted too
 * (its `options` are taken), so a finished run can be repeated with `--config runs/x/config.json`.
 */
export function readSettingsFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigFileError(
      `cannot read config file ${JSON.stringify(path)}: ${code ?? (error as Error).message}`,
    );
  }
  let data: unknown;
  try {
    data = extname(path).toLowerCase() === ".json" ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigFileError(
      `malformed config file ${JSON.stringify(path)}: ${(error as Error).message.split("\n")[0]}`,
    );
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new ConfigFileError(
      `config file ${JSON.stringify(path)} must hold a mapping of settings, got ${JSON.stringify(data)}`,
    );
  }
  const record = data as Record<string, unknown>;
  if (record.format === RUN_CONFIG_FORMAT && typeof record.options === "object" && record.options !== null) {
    return { ...(record.options as Record<string, unknown>) };
  }
  return record;
}

export const RUN_CONFIG_FORMAT = "sgprop-run/1";
