/**
 * Calls `onStop` on SIGINT, SIGTERM, and when the package manager that started us dies. The last
 * case matters because `pnpm sgprop ...` does not forward signals: `kill -TERM <pnpm pid>` ends
 * pnpm alone, and the trainer would run on as an orphan. Under a package-manager script
 * (npm_lifecycle_event set, the script exec's node) our parent is pnpm itself, so a change of
 * parent pid means it is gone, and we stop the way SIGTERM does: after a checkpoint.
 * Returns the function that removes the handlers.
 */
export function onStopRequest(onStop: (reason: string) => void): () => void {
  const onSigint = () => onStop("SIGINT");
  const onSigterm = () => onStop("SIGTERM");
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigterm);
  let timer: NodeJS.Timeout | undefined;
  if (process.env.npm_lifecycle_event !== undefined) {
    const parent = process.ppid;
    timer = setInterval(() => {
      if (process.ppid !== parent) {
        clearInterval(timer);
        onStop(`its parent process ${parent} (the package manager) ended`);
      }
    }, 500);
    timer.unref();
  }
  return () => {
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigterm);
    if (timer !== undefined) clearInterval(timer);
  };
}
