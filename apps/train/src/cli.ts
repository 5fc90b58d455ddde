import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { expertSimCliCommand } from "./cli/expert-sim-flags.js";
import { type Output, processOutput } from "./cli/output.js";
import { benchCommand } from "./commands/bench.js";
import { sweepStatusCommand, workerCommand } from "./commands/queue.js";
import { reportCommand } from "./commands/report.js";
import { reproduceCommand } from "./commands/reproduce.js";
import { sweepCommand } from "./commands/sweep.js";
import { trainCommand } from "./commands/train.js";
import { diagnoseCommand } from "./diagnose/command.js";
import { conciseError, ExitCode, UsageError } from "./errors.js";
import { BACKEND_CHOICES, type BackendChoice } from "./options/shared-params.js";
import { RunFailedError } from "./run/train-run.js";
import { validateCommand } from "./validate/command.js";

/** The version of @sgprop/train (its package.json sits two folders above src/ and dist/ files). */
export function sgpropVersion(): string {
  const url = new URL("../package.json", import.meta.url);
  return (JSON.parse(readFileSync(url, "utf8")) as { version: string }).version;
}

/** Builds the `sgprop` command tree; `setExit` receives each action's exit code. */
export function buildProgram(out: Output, setExit: (code: number) => void): Command {
  const program = new Command("sgprop")
    .description(
      'Train, sweep and report the experiments of "Is Backpropagation Optimal? When Synthetic Gradients Improve Sample Efficiency"',
    )
    .version(sgpropVersion(), "-V, --version", "print the version of @sgprop/train")
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: (s) => out.stream.write(s), writeErr: (s) => process.stderr.write(s) })
    .exitOverride();
  const train = new Command("train")
    .description(
      "train one agent and write a results folder (without a subcommand: the quick LabyrinthEscape demo)",
    )
    .addCommand(trainCommand("popgym", out, setExit))
    .addCommand(trainCommand("bandit", out, setExit))
    .addCommand(trainCommand("dni", out, setExit))
    .addCommand(trainCommand("bp-lambda", out, setExit));
  program.addCommand(train);
  program
    .command("conformance")
    .description("check the implementation against the golden files (default: every bundled file)")
    .argument("[files...]", "golden JSON files (default: those shipped in @sgprop/conformance)")
    .addOption(
      new Option("--backend <name>", "TensorFlow.js backend (default: wasm, falling back to cpu)").choices(
        BACKEND_CHOICES,
      ),
    )
    .action(async (files: string[], flags: { backend?: BackendChoice }) => {
      // Loaded on demand: the checkers pull in TensorFlow.js, which other commands need not load.
      const { conformanceCommand } = await import("./commands/conformance.js");
      setExit((await conformanceCommand(files, out.info, flags.backend)).exitCode);
    });
  program.addCommand(sweepCommand(out, setExit));
  program.addCommand(workerCommand(out, setExit));
  program.addCommand(sweepStatusCommand(out, setExit));
  program.addCommand(reportCommand(out, setExit));
  program.addCommand(reproduceCommand(out, setExit));
  program.addCommand(benchCommand(out, setExit));
  program.addCommand(expertSimCliCommand(out, setExit));
  program.addCommand(validateCommand(out, setExit));
  program.addCommand(diagnoseCommand(out, setExit));
  // Exit code 2 for every usage error raised by commander itself (unknown flag, bad choice, ...).
  const applyExitOverride = (cmd: Command) => {
    cmd
      .exitOverride()
      .configureOutput({ writeOut: (s) => out.stream.write(s), writeErr: (s) => process.stderr.write(s) });
    cmd.showSuggestionAfterError(true);
    for (const sub of cmd.commands) applyExitOverride(sub);
  };
  applyExitOverride(program);
  return program;
}

/** `sgprop train` alone runs the quick LabyrinthEscape demo (the README's first command). */
function expandTrainShortcut(argv: readonly string[]): string[] {
  const [first, second] = argv;
  if (first === "train" && (second === undefined || (second.startsWith("--") && second !== "--help"))) {
    const rest = argv.slice(1);
    return [
      "train",
      "popgym",
      ...(rest.includes("--preset") || rest.includes("--resume") ? [] : ["--preset", "quick"]),
      ...rest,
    ];
  }
  return [...argv];
}

export async function main(argv: readonly string[], out: Output = processOutput): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const program = buildProgram(out, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(expandTrainShortcut(argv), { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === "commander.helpDisplayed" ||
        error.code === "commander.version" ||
        error.code === "commander.help"
      )
        return ExitCode.ok;
      return ExitCode.usage;
    }
    if (error instanceof UsageError) {
      // One line, whatever a quoted file or library message held.
      out.error(`sgprop: ${error.message.replace(/\s*\n\s*/g, " ")}`);
      return ExitCode.usage;
    }
    if (error instanceof RunFailedError) {
      out.error(`sgprop: ${error.message}`);
      return ExitCode.failure;
    }
    out.error(`sgprop: ${conciseError(error)}`);
    return ExitCode.failure;
  }
}
