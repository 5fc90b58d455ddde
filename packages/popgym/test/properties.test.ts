import { Discrete, type Info, make, Tuple } from "@sgprop/gym";
import { envProperties, type MakeVector, propertyList, type VectorStepView } from "@sgprop/gym/testing";
import { describe, expect, it } from "vitest";
import {
  type LabyrinthEnvOptions,
  LabyrinthEscape,
  LabyrinthExplore,
  type LabyrinthKind,
  LabyrinthVectorEnv,
  makePaperLabyrinth,
  numpyGridText,
  PaperLabyrinthEnv,
  POPGYM_ENV_IDS,
  registerPopgymEnvs,
} from "../src/index.js";

registerPopgymEnvs();

/** info.position is [x, y] = [col, row] inside the (h+1) x (w+1) grid. */
function positionSpace([h, w]: readonly [number, number]) {
  return { position: new Tuple([new Discrete(w + 1), new Discrete(h + 1)]) };
}

describe.each(POPGYM_ENV_IDS.map((r) => [r.id, r] as const))("%s honours the env contract", (id, r) => {
  const props = envProperties(() => make(id), {
    infoSpaces: positionSpace(r.mazeDims),
    // Hard mazes are large; the paper's envs, the ones trained on, get the most runs.
    maxLength: r.paper ? 40 : 20,
  });
  it("has the checkpoint and vector properties too", () => {
    expect(props.checkpointRestoresExactly).toBeDefined();
    expect(props.vectorMatchesSingles).toBeDefined();
  });
  it.each(propertyList(props).map((p) => [p.name, p] as const))("%s", (_, p) => {
    p.assert({ numRuns: r.paper ? 40 : 10 });
  });
});

describe.each([
  ["escape", LabyrinthEscape],
  ["explore", LabyrinthExplore],
] as const)("Labyrinth%s variants honour the env contract", (_, Ctor) => {
  const cases: [string, LabyrinthEnvOptions][] = [
    ["non-square 6x10, short episodes", { mazeDims: [6, 10], episodeLength: 9 }],
    [
      "reference generator (seeds below 2^32)",
      { mazeDims: [8, 6], episodeLength: 30, generator: "reference" },
    ],
  ];
  it.each(cases)("%s", (_, opts) => {
    const dims = opts.mazeDims ?? [10, 10];
    const props = envProperties(() => new Ctor(opts), {
      infoSpaces: positionSpace(dims),
      seedDomain: opts.generator === "reference" ? { max: 2 ** 32 - 1 } : {},
    });
    for (const p of propertyList(props)) p.assert({ numRuns: 25 });
  });

  it("the paper's literal wrapper stack honours it too", () => {
    const kind = Ctor === LabyrinthEscape ? "escape" : "explore";
    const props = envProperties(() => makePaperLabyrinth(kind, { variant: "wrapper-stack" }));
    for (const p of propertyList(props)) p.assert({ numRuns: 20 });
  });
});

/**
 * The trainer's LabyrinthVectorEnv seen through Gymnasium's autoreset semantics: it has neither
 * autoreset nor infos, so the adapter resets a finished slot without a seed, as a SyncVectorEnv
 * would ("next-step": on the following step, masking the slot out of that step; "same-step": right
 * after the ending step, keeping that step's reward and flags), and rebuilds the single env's
 * infos from the slot's state (reset: the maze text; step: the position).
 */
function labyrinthVector(
  kind: LabyrinthKind,
  opts: { generator?: "default" | "reference" } = {},
): MakeVector<number> {
  return (numEnvs, mode) => {
    const vec = new LabyrinthVectorEnv({ kind, numEnvs, ...opts });
    const dim = vec.obsDim;
    const pending = new Uint8Array(numEnvs);
    const resetInfo = (k: number): Info => ({ maze: numpyGridText(vec.state(k)) });
    return {
      reset: (seed) => {
        for (let k = 0; k < numEnvs; k++) vec.resetEnv(k, { seed: seed + k });
        pending.fill(0);
        return {
          observations: vec.observations.slice(),
          infos: Array.from({ length: numEnvs }, (_, k) => resetInfo(k)),
        };
      },
      step: (actions, mask) => {
        const active = new Uint8Array(numEnvs);
        const rewards = new Float32Array(numEnvs);
        const terminated = new Uint8Array(numEnvs);
        const truncated = new Uint8Array(numEnvs);
        const infos: Info[] = [];
        for (let k = 0; k < numEnvs; k++) active[k] = (mask === undefined || mask[k]) && !pending[k] ? 1 : 0;
        vec.step(actions, active);
        const positions = vec.positions();
        for (let k = 0; k < numEnvs; k++) {
          infos[k] = {};
          if ((mask === undefined || mask[k]) && pending[k]) {
            vec.resetEnv(k);
            pending[k] = 0;
            infos[k] = resetInfo(k);
          }
          if (!active[k]) continue;
          rewards[k] = vec.rewards[k] as number;
          terminated[k] = vec.terminated[k] as number;
          truncated[k] = vec.truncated[k] as number;
          const stepInfo = { position: [positions[2 * k], positions[2 * k + 1]] };
          infos[k] = stepInfo;
          if (!(terminated[k] || truncated[k])) continue;
          if (mode === "next-step") pending[k] = 1;
          else {
            const finalObservation = vec.observations.slice(k * dim, (k + 1) * dim);
            vec.resetEnv(k);
            infos[k] = { ...resetInfo(k), finalObservation, finalInfo: stepInfo };
          }
        }
        const view: VectorStepView = {
          observations: vec.observations.slice(),
          rewards,
          terminated,
          truncated,
          infos,
        };
        return view;
      },
    };
  };
}

describe.each(["escape", "explore"] as const)(
  "LabyrinthVectorEnv (%s) equals N single labyrinths",
  (kind) => {
    it("with the default generator, slot for slot, in both autoreset modes (200 runs)", () => {
      const props = envProperties(() => new PaperLabyrinthEnv(kind), {
        vector: { make: labyrinthVector(kind), maxEnvs: 6, maxSteps: 100 },
      });
      props.vectorMatchesSingles?.assert({ numRuns: 200 });
    });

    it("with the reference generator (60 runs)", () => {
      const props = envProperties(() => new PaperLabyrinthEnv(kind, { generator: "reference" }), {
        seedDomain: { max: 2 ** 32 - 1 },
        vector: { make: labyrinthVector(kind, { generator: "reference" }), maxEnvs: 4, maxSteps: 100 },
      });
      props.vectorMatchesSingles?.assert({ numRuns: 60 });
    });

    it("and the property notices a vector env that differs", () => {
      const props = envProperties(() => new PaperLabyrinthEnv(kind), {
        vector: {
          make: labyrinthVector(kind === "escape" ? "explore" : "escape"),
          maxEnvs: 3,
          maxSteps: 100,
        },
      });
      expect(() => props.vectorMatchesSingles?.assert({ numRuns: 200, seed: 5 })).toThrow(
        /vectorMatchesSingles failed: (reset|step \d+), sub-env \d+: (info|reward|terminated)/,
      );
    });
  },
);

describe("labyrinth checkpoints", () => {
  it("restore across envs of the same options only", () => {
    const a = new LabyrinthEscape({ mazeDims: [6, 6] });
    a.reset({ seed: 1 });
    a.step(1);
    const state = a.getState();
    const b = new LabyrinthEscape({ mazeDims: [6, 6] });
    b.setState(structuredClone(state));
    expect(b.step(2)).toEqual(a.step(2));
    expect(() => new LabyrinthEscape({ mazeDims: [6, 8] }).setState(state)).toThrow(/6x8/);
    expect(() => new LabyrinthExplore({ mazeDims: [6, 6] }).setState(state)).toThrow(/escape/);
  });
});
