import { describe, expect, it } from "vitest";
import {
  BACKEND_NAMES,
  BackendUnavailableError,
  DEFAULT_BACKEND_ORDER,
  parseBackendName,
  selectBackend,
} from "../src/backend.js";

describe("backend names", () => {
  it("accepts tensorflow-gpu and tensorflow-cpu; the default order never includes a native backend", () => {
    for (const name of ["wasm", "cpu", "tensorflow-gpu", "tensorflow-cpu", "tensorflow"]) {
      expect(parseBackendName(name)).toBe(name);
    }
    expect(BACKEND_NAMES).toContain("tensorflow-gpu");
    expect(DEFAULT_BACKEND_ORDER).toEqual(["wasm", "cpu"]);
  });

  it("tensorflow-gpu tries only tfjs-node-gpu, tensorflow-cpu only tfjs-node", async () => {
    const gpu = await selectBackend("tensorflow-gpu").catch((e: unknown) => e);
    expect(gpu).toBeInstanceOf(BackendUnavailableError);
    expect(String(gpu)).toMatch(/@tensorflow\/tfjs-node-gpu:/);
    expect(String(gpu)).not.toMatch(/@tensorflow\/tfjs-node:/);
    const cpu = await selectBackend("tensorflow-cpu").catch((e: unknown) => e);
    expect(cpu).toBeInstanceOf(BackendUnavailableError);
    expect(String(cpu)).toMatch(/@tensorflow\/tfjs-node:/);
    expect(String(cpu)).not.toMatch(/tfjs-node-gpu:/);
  });
});
