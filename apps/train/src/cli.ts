import { conformanceCommand } from "./commands/conformance.js";

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "train") {
    console.log("sgprop train: the training harness is coming (issue 8).");
    return 0;
  }
  if (command === "conformance") {
    return (await conformanceCommand(rest)).exitCode;
  }
  console.error(`sgprop: unknown command ${JSON.stringify(command)}`);
  return 2;
}
