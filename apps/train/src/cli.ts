export async function main(argv: readonly string[]): Promise<number> {
  const [command] = argv;
  if (command === "train") {
    console.log("sgprop train: the training harness is coming (issue 8).");
    return 0;
  }
  console.error(`sgprop: unknown command ${JSON.stringify(command)}`);
  return 2;
}
