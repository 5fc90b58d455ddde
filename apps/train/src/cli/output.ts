/** Where a command prints: stdout for results and progress, stderr for errors and warnings. */
export interface Output {
  info(line: string): void;
  error(line: string): void;
  readonly stream: NodeJS.WriteStream;
}

export const processOutput: Output = {
  info: (line) => process.stdout.write(`${line}\n`),
  error: (line) => process.stderr.write(`${line}\n`),
  stream: process.stdout,
};
