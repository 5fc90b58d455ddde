import { type Command, InvalidArgumentError, Option } from "commander";
import { InvalidOptionError } from "../errors.js";
import { presets, type TrainKind } from "../options/presets.js";
import { paramsOf, presetNames } from "../options/resolve.js";
import { describeAllowed, flagOf, formatDefault, parseParamValue, placeholderOf } from "../options/schema.js";

/** Adds one flag per hyper-parameter of `kind`, documented with the paper's default. */
export function addParamFlags(cmd: Command, kind: TrainKind): Command {
  for (const spec of paramsOf(kind)) {
    const flag = flagOf(spec.key);
    const parse = (raw: string) => {
      try {
        return parseParamValue(spec, raw, flag);
      } catch (error) {
        if (error instanceof InvalidOptionError) throw new InvalidArgumentError(`expected ${error.allowed}.`);
        throw error;
      }
    };
    const help = `${spec.description} (default: ${formatDefault(spec)})`;
    if (spec.type.type === "boolean") {
      cmd.addOption(new Option(`${flag} [bool]`, help).argParser(parse));
      cmd.addOption(new Option(`--no-${flag.slice(2)}`, `same as ${flag} false`).hideHelp());
    } else {
      const allowed = spec.type.type === "enum" ? `; ${describeAllowed(spec.type)}` : "";
      cmd.addOption(new Option(`${flag} ${placeholderOf(spec.type)}`, `${help}${allowed}`).argParser(parse));
    }
  }
  return cmd;
}

/** The flags shared by `train`, `bench` and the like: preset and config file. */
export function addPresetFlags(cmd: Command, kind: TrainKind): Command {
  const list = Object.entries(presets[kind])
    .map(([name, p]) => `  ${name.padEnd(18)} ${p.description}`)
    .join("\n");
  cmd.addHelpText(
    "after",
    `\nPresets (--preset):\n${list}\n\nPrecedence: paper defaults < preset < --config file < flags.`,
  );
  return cmd
    .addOption(
      new Option("--preset <name>", `named settings applied before the config file and flags`).choices(
        presetNames(kind),
      ),
    )
    .option(
      "--config <file>",
      "JSON or YAML file of settings (camelCase or kebab-case keys; may name a preset)",
    );
}

/** The hyper-parameters explicitly passed on the command line (commander value source "cli"). */
export function explicitParams(cmd: Command, kind: TrainKind): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const values = cmd.opts();
  for (const spec of paramsOf(kind)) {
    if (cmd.getOptionValueSource(spec.key) === "cli") out[spec.key] = values[spec.key];
  }
  return out;
}
