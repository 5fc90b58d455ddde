import { tmpdir } from "node:os";
import { join } from "node:path";
import { mergeConfig } from "vitest/config";
import shared from "../../vitest.shared.js";

// Tests that use the default cache write it under the OS temp folder, not the user's ~/.cache.
export default mergeConfig(shared, {
  test: { env: { SGPROP_CACHE_DIR: join(tmpdir(), "sgprop-mnist-bandit-test-cache") } },
});
