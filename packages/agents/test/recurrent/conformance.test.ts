import { join } from "node:path";
import { checkerTable, checkFile } from "@sgprop/conformance";
import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { agentCheckers } from "../../src/index.js";
import { TEST_BACKENDS, useBackend } from "../helpers.js";

// The same dispatch as `pnpm conformance`: the case table built from agentCheckers.
const golden = join(import.meta.dirname, "../../../../test/golden");
const cases = ["sparsenet-recurrent", "gru-policy", "lstm-policy"];

describe.each(TEST_BACKENDS)("recurrent golden conformance on %s", (backend) => {
  it.each(cases)("%s passes without leaking tensors", async (name) => {
    await useBackend(backend);
    const before = tf.memory().numTensors;
    const r = await checkFile(join(golden, `${name}.json`), checkerTable(agentCheckers));
    expect(r.error).toBeUndefined();
    expect(r.outcome?.firstMismatch).toBeUndefined();
    expect(r.outcome?.compared).toBeGreaterThan(1000);
    expect(r.pass).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });
});
