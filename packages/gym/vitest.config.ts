import { mergeConfig } from "vitest/config";
import shared from "../../vitest.shared.js";

// examples/*.test.ts are README examples; running them keeps the README honest.
export default mergeConfig(shared, { test: { include: ["examples/**/*.test.ts"] } });
