import { main } from "./cli.js";

// `sgprop --help | head` closes the pipe early: the rest of the output has no reader, which is
// not an error of ours (an unhandled EPIPE would print a stack trace).
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
  });
}
process.exitCode = await main(process.argv.slice(2));
