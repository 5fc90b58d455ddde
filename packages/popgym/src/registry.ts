import { register, registry } from "@sgprop/gym";
import type { LabyrinthKind } from "./cells.js";
import { type LabyrinthEnvOptions, LabyrinthEscape, LabyrinthExplore } from "./labyrinth-env.js";
import { PaperLabyrinthEnv } from "./paper.js";

const KNOWN_KWARGS = new Set(["mazeDims", "episodeLength", "generator", "renderMode"]);

function options(id: string, kwargs: Record<string, unknown>): LabyrinthEnvOptions {
  for (const k of Object.keys(kwargs)) {
    if (!KNOWN_KWARGS.has(k)) {
      throw new RangeError(
        `${id}: unknown keyword ${JSON.stringify(k)} (known: ${[...KNOWN_KWARGS].join(", ")})`,
      );
    }
  }
  return kwargs as LabyrinthEnvOptions;
}

interface LabyrinthRegistration {
  id: string;
  kind: LabyrinthKind;
  mazeDims: [number, number];
  episodeLength: number;
  paper: boolean;
}

/** Every id `registerPopgymEnvs` registers, with its settings. */
export const POPGYM_ENV_IDS: readonly LabyrinthRegistration[] = [
  ...(["escape", "explore"] as const).flatMap((kind) => {
    const name = kind === "escape" ? "LabyrinthEscape" : "LabyrinthExplore";
    return [
      { id: `popgym/${name}-v0`, kind, mazeDims: [10, 10], episodeLength: 1024, paper: false },
      { id: `popgym/${name}Easy-v0`, kind, mazeDims: [10, 10], episodeLength: 1024, paper: false },
      { id: `popgym/${name}Medium-v0`, kind, mazeDims: [14, 14], episodeLength: 1024, paper: false },
      { id: `popgym/${name}Hard-v0`, kind, mazeDims: [18, 18], episodeLength: 1024, paper: false },
      {
        id: `popgym/Paper${name}-v0`,
        kind,
        mazeDims: [6, 6],
        episodeLength: kind === "escape" ? 80 : 40,
        paper: true,
      },
    ] satisfies LabyrinthRegistration[];
  }),
];

declare module "@sgprop/gym" {
  interface RegisteredEnvs {
    "popgym/LabyrinthEscape-v0": LabyrinthEscape;
    "popgym/LabyrinthEscapeEasy-v0": LabyrinthEscape;
    "popgym/LabyrinthEscapeMedium-v0": LabyrinthEscape;
    "popgym/LabyrinthEscapeHard-v0": LabyrinthEscape;
    "popgym/PaperLabyrinthEscape-v0": PaperLabyrinthEnv;
    "popgym/LabyrinthExplore-v0": LabyrinthExplore;
    "popgym/LabyrinthExploreEasy-v0": LabyrinthExplore;
    "popgym/LabyrinthExploreMedium-v0": LabyrinthExplore;
    "popgym/LabyrinthExploreHard-v0": LabyrinthExplore;
    "popgym/PaperLabyrinthExplore-v0": PaperLabyrinthEnv;
  }
}

/**
 * Registers POPGym's labyrinths in @sgprop/gym's registry: `popgym/LabyrinthEscape-v0` (and
 * Explore; 10x10, 1024 steps, keywords overridable), the Easy/Medium/Hard variants (10x10, 14x14,
 * 18x18; 1024 steps), and the paper's wrapped 6x6 envs `popgym/PaperLabyrinthEscape-v0` (80 steps)
 * and `popgym/PaperLabyrinthExplore-v0` (40 steps), whose observations are the 56-long vectors.
 * No TimeLimit is added: the envs truncate themselves on step episodeLength - 1, as POPGym does.
 * Calling it again is harmless.
 */
export function registerPopgymEnvs(): void {
  const taken = new Set(registry().map((s) => s.id));
  for (const r of POPGYM_ENV_IDS) {
    if (taken.has(r.id)) continue;
    register({
      id: r.id,
      kwargs: { mazeDims: r.mazeDims, episodeLength: r.episodeLength },
      entryPoint: (kwargs: Record<string, unknown>) => {
        const opts = options(r.id, kwargs);
        if (r.paper) return new PaperLabyrinthEnv(r.kind, opts);
        return r.kind === "escape" ? new LabyrinthEscape(opts) : new LabyrinthExplore(opts);
      },
    });
  }
}
