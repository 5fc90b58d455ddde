import { fileURLToPath } from "node:url";
import { checkerTable, checkFile } from "@sgprop/conformance";
import { describe, expect, it } from "vitest";
import { agentCheckers } from "../src/conformance/index.js";
import { TEST_BACKENDS, useBackend } from "./helpers.js";

const golden = (name: string) => fileURLToPath(new URL(`../../../test/golden/${name}`, import.meta.url));

describe.each(TEST_BACKENDS)("golden conformance on %s (the `pnpm conformance` code path)", (backend) => {
  for (const file of ["sparsenet-feedforward.json", "mlp.json"]) {
    it(file, async () => {
      await useBackend(backend);
      const result = await checkFile(golden(file), checkerTable(agentCheckers));
      expect(result.error).toBeUndefined();
      expect(result.outcome?.firstMismatch).toBeUndefined();
      expect(result.pass).toBe(true);
      expect(result.outcome?.compared).toBeGreaterThan(700);
      expect(result.outcome?.worstAbs).toBeLessThan(1e-5);
    });
  }
});
