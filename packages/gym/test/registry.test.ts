import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkEnv } from "../src/checker.js";
import { DuplicateEnvError, InvalidEnvIdError, UnknownEnvError } from "../src/errors.js";
import {
  closeIds,
  editDistance,
  make,
  parseEnvId,
  register,
  registry,
  spec,
  unregister,
} from "../src/registry.js";
import { TimeLimit } from "../src/wrappers/time-limit.js";
import { counterEnv } from "./support/test-env.js";

interface CounterKwargs {
  length: number;
  label?: string;
}

const made: CounterKwargs[] = [];
register({
  id: "test/Counter-v0",
  entryPoint: (kwargs: CounterKwargs) => {
    made.push(kwargs);
    return counterEnv(kwargs.length);
  },
  kwargs: { length: 3, label: "default" },
});
register({ id: "test/Counter-v1", entryPoint: () => counterEnv(500), maxEpisodeSteps: 4 });
register({ id: "Plain-v2", entryPoint: () => counterEnv(2) });

describe("register / make / spec", () => {
  it("make merges kwargs over the registered ones and sets spec", () => {
    const env = make("test/Counter-v0", { length: 7 });
    expect(made.at(-1)).toEqual({ length: 7, label: "default" });
    expect(env.spec).toEqual({ id: "test/Counter-v0", kwargs: { length: 7, label: "default" } });
    expect(spec("test/Counter-v0").kwargs).toEqual({ length: 3, label: "default" });
    env.reset({ seed: 0 });
    for (let t = 1; t < 7; t++) expect(env.step(0)[2]).toBe(false);
    expect(env.step(0)[2]).toBe(true);
  });

  it("make applies TimeLimit from the spec, overridable per call", () => {
    const env = make("test/Counter-v1");
    expect(env).toBeInstanceOf(TimeLimit);
    expect(env.spec?.maxEpisodeSteps).toBe(4);
    env.reset({ seed: 1 });
    const flags = Array.from({ length: 4 }, () => env.step(1)[3]);
    expect(flags).toEqual([false, false, false, true]);
    expect(make("test/Counter-v1", {}, { maxEpisodeSteps: 0 })).not.toBeInstanceOf(TimeLimit);
    expect(
      (make("test/Counter-v1", {}, { maxEpisodeSteps: 9 }) as TimeLimit<unknown, unknown>).maxEpisodeSteps,
    ).toBe(9);
  });

  it("registry lists every spec sorted; unregister removes", () => {
    expect(registry().map((s) => s.id)).toEqual(["Plain-v2", "test/Counter-v0", "test/Counter-v1"]);
    register({ id: "test/Temp-v0", entryPoint: () => counterEnv() });
    expect(unregister("test/Temp-v0")).toBe(true);
    expect(registry()).toHaveLength(3);
  });

  it("registering an id twice fails", () => {
    expect(() => register({ id: "test/Counter-v0", entryPoint: () => counterEnv() })).toThrow(
      DuplicateEnvError,
    );
    expect(() => register({ id: "test/Counter-v0", entryPoint: () => counterEnv() })).toThrow(
      /"test\/Counter-v0"/,
    );
  });

  it("unknown ids fail listing close ids", () => {
    const attempt = (id: string) => {
      try {
        make(id);
      } catch (e) {
        return e as UnknownEnvError;
      }
      throw new Error("make did not throw");
    };
    const typo = attempt("test/Countr-v0");
    expect(typo).toBeInstanceOf(UnknownEnvError);
    expect(typo.suggestions[0]).toBe("test/Counter-v0");
    expect(typo.message).toContain('did you mean "test/Counter-v0"');
    expect(attempt("test/Counter-v7").suggestions).toEqual(["test/Counter-v0", "test/Counter-v1"]);
    expect(attempt("Counter-v0").suggestions).toContain("test/Counter-v0");
    expect(attempt("other/Zebra-v0").message).toContain("no similar ids");
    expect(() => spec("test/Nope-v0")).toThrow(UnknownEnvError);
  });

  it("ids must be [namespace/]Name-vN", () => {
    expect(parseEnvId("popgym/LabyrinthEscape-v0")).toEqual({
      namespace: "popgym",
      name: "LabyrinthEscape",
      version: 0,
    });
    expect(parseEnvId("CartPole-v12")).toEqual({ namespace: undefined, name: "CartPole", version: 12 });
    for (const bad of ["CartPole", "a/b/C-v0", "C-v01", "C-vx", "/C-v0", ""]) {
      expect(() => parseEnvId(bad)).toThrow(InvalidEnvIdError);
      expect(() => register({ id: bad, entryPoint: () => counterEnv() })).toThrow(InvalidEnvIdError);
    }
  });

  it.each(registry().map((s) => [s.id]))("%s passes checkEnv", (id) => {
    const report = checkEnv(make(id));
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  });
});

describe("closeIds / editDistance", () => {
  it("edit distance is a metric that counts single edits", () => {
    const word = fc.string({ maxLength: 12 });
    fc.assert(
      fc.property(word, word, word, (a, b, c) => {
        expect(editDistance(a, a)).toBe(0);
        expect(editDistance(a, b)).toBe(editDistance(b, a));
        expect(editDistance(a, c)).toBeLessThanOrEqual(editDistance(a, b) + editDistance(b, c));
        expect(editDistance(a, `${a}x`)).toBe(1);
        expect(editDistance(a, b)).toBeLessThanOrEqual(Math.max(a.length, b.length));
      }),
      { numRuns: 100 },
    );
  });

  it("a one-character typo of a registered id is always suggested first", () => {
    const ids = ["popgym/LabyrinthEscape-v0", "popgym/LabyrinthExplore-v0", "mnist/Bandit-v0"];
    fc.assert(
      fc.property(fc.constantFrom(...ids), fc.nat(), fc.constantFrom("q", "Z", "7"), (id, at, ch) => {
        const i = at % id.length;
        const typo = id.slice(0, i) + ch + id.slice(i + 1);
        fc.pre(typo !== id);
        expect(closeIds(typo, ids)[0]).toBe(id);
      }),
      { numRuns: 100 },
    );
  });
});
