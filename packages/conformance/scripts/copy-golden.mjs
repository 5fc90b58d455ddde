// Copies the repository's reference files (test/golden/) into this package's golden/ folder, which
// is published with the package so that `sgprop conformance` works from npm.
import { cpSync, existsSync, rmSync } from "node:fs";

const from = new URL("../../../test/golden/", import.meta.url);
const to = new URL("../golden/", import.meta.url);
if (!existsSync(from)) {
  console.error(`copy-golden: ${from.pathname} not found (run from a checkout of sgprop-ts)`);
  process.exit(1);
}
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true });
