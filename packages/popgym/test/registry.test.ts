import { checkEnv, make, registry, spec, UnknownEnvError } from "@sgprop/gym";
import { describe, expect, it } from "vitest";
import {
  LabyrinthEscape,
  LabyrinthExplore,
  PaperLabyrinthEnv,
  POPGYM_ENV_IDS,
  registerPopgymEnvs,
} from "../src/index.js";

registerPopgymEnvs();
registerPopgymEnvs(); // idempotent

describe("registered labyrinth ids", () => {
  it("registers POPGym's difficulties and the paper's settings", () => {
    const ids = registry().map((s) => s.id);
    for (const r of POPGYM_ENV_IDS) expect(ids).toContain(r.id);
    expect(spec("popgym/LabyrinthEscapeHard-v0").kwargs).toEqual({ mazeDims: [18, 18], episodeLength: 1024 });
    expect(spec("popgym/LabyrinthExploreMedium-v0").kwargs).toEqual({
      mazeDims: [14, 14],
      episodeLength: 1024,
    });
    expect(spec("popgym/PaperLabyrinthExplore-v0").kwargs).toEqual({ mazeDims: [6, 6], episodeLength: 40 });
    expect(spec("popgym/PaperLabyrinthEscape-v0").maxEpisodeSteps).toBeUndefined();
  });

  it.each(POPGYM_ENV_IDS.map((r) => [r.id, r] as const))(
    "%s builds the right env and passes checkEnv",
    (id, r) => {
      const env = make(id);
      const Expected = r.paper ? PaperLabyrinthEnv : r.kind === "escape" ? LabyrinthEscape : LabyrinthExplore;
      expect(env).toBeInstanceOf(Expected);
      const state = (env as LabyrinthEscape | PaperLabyrinthEnv).state;
      expect([state.h, state.w]).toEqual(r.mazeDims);
      expect(state.episodeLength).toBe(r.episodeLength);
      expect(env.observationSpace.shape).toEqual(r.paper ? [56] : [10]);
      const report = checkEnv(env, { maxEpisodeSteps: 1100 });
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
    },
  );

  it("accepts keyword overrides and rejects unknown keywords", () => {
    const env = make("popgym/LabyrinthEscape-v0", { mazeDims: [8, 12], generator: "reference" });
    expect((env as LabyrinthEscape).mazeDims).toEqual([8, 12]);
    expect((env as LabyrinthEscape).generator).toBe("reference");
    expect(() => make("popgym/LabyrinthEscape-v0", { maze_dims: [8, 8] })).toThrow(
      /unknown keyword "maze_dims"/,
    );
    expect(() => make("popgym/LabyrinthEscapeEasy-v0", { mazeDims: [9, 9] })).toThrow(/9 is odd/);
  });

  it("suggests close ids for a typo", () => {
    expect(() => make("popgym/LabyrinthEscap-v0")).toThrow(UnknownEnvError);
    expect(() => make("popgym/LabyrinthEscap-v0")).toThrow(/LabyrinthEscape-v0/);
  });
});
