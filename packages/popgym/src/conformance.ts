import { type CaseChecker, type CheckOutcome, Comparison, type GoldenFile } from "@sgprop/conformance";
import type { LabyrinthKind } from "./cells.js";
import { type GoldenEpisode, LABYRINTH_CASES, readGoldenEpisodes } from "./golden-episodes.js";
import type { LabyrinthStepInfo } from "./labyrinth-env.js";
import { makePaperLabyrinth } from "./paper.js";
import { LabyrinthVectorEnv } from "./vector.js";

// Everything is compared exactly; the vector env's float32 rewards against the float32 rounding
// of the reference's float64 rewards (the paper's trainer stores them as float32 too).
const EXACT = { abs: 0, rel: 0 } as const;

function flag(b: boolean): number {
  return b ? 1 : 0;
}

/**
 * Every golden episode is replayed, with its injected maze, through the three code paths users
 * have: the fused wrapped env, the literal wrapper stack, and the batched vector env.
 *
 * Replays one golden episode with its injected maze through the batched env (one slot) and
 * compares everything; stops at the episode's first mismatching step.
 */
function replayVector(kind: LabyrinthKind, ep: GoldenEpisode, label: string, cmp: Comparison): void {
  const env = new LabyrinthVectorEnv({
    kind,
    numEnvs: 1,
    mazeDims: ep.mazeDims,
    episodeLength: ep.episodeLength,
  });
  env.resetEnv(0, { seed: ep.seed, options: { maze: { grid: ep.grid, start: ep.start, end: ep.end } } });
  const s = env.state(0);
  const grid = ep.grid.flat();
  if (!cmp.exact(`${label} reset grid`, s.grid, grid)) return;
  if (!cmp.exact(`${label} reset observation`, env.observations, ep.resetObs)) return;
  if (!cmp.exact(`${label} reset position`, env.positions(), ep.resetPosition)) return;
  cmp.scalar(`${label} negRewardScale`, s.negRewardScale, ep.negRewardScale, EXACT);
  if (ep.posRewardScale !== undefined) {
    cmp.scalar(`${label} posRewardScale`, s.posRewardScale, ep.posRewardScale, EXACT);
  }
  const action = new Int32Array(1);
  for (let t = 0; t < ep.steps.length; t++) {
    const st = ep.steps[t] as GoldenEpisode["steps"][number];
    const at = `${label} step ${t} (action ${st.action})`;
    action[0] = st.action;
    env.step(action);
    const ok =
      cmp.exact(`${at}: observation`, env.observations, st.obs) &&
      cmp.scalar(`${at}: reward`, s.reward, st.reward, EXACT) &&
      cmp.scalar(`${at}: float32 reward`, env.rewards[0] as number, Math.fround(st.reward), EXACT) &&
      cmp.exact(`${at}: terminated`, env.terminated, [flag(st.terminated)]) &&
      cmp.exact(`${at}: truncated`, env.truncated, [flag(st.truncated)]) &&
      cmp.exact(`${at}: position`, env.positions(), st.position);
    if (!ok) return;
  }
}

/** Replays one golden episode through a single wrapped env (`makePaperLabyrinth`, either variant). */
function replaySingle(
  kind: LabyrinthKind,
  variant: "fused" | "wrapper-stack",
  ep: GoldenEpisode,
  label: string,
  cmp: Comparison,
): void {
  const env = makePaperLabyrinth(kind, { variant, mazeDims: ep.mazeDims, episodeLength: ep.episodeLength });
  const [obs0] = env.reset({
    seed: ep.seed,
    options: { maze: { grid: ep.grid, start: ep.start, end: ep.end } },
  });
  if (!cmp.exact(`${label} reset observation`, obs0, ep.resetObs)) return;
  for (let t = 0; t < ep.steps.length; t++) {
    const st = ep.steps[t] as GoldenEpisode["steps"][number];
    const at = `${label} step ${t} (action ${st.action})`;
    const [obs, reward, terminated, truncated, info] = env.step(st.action);
    const ok =
      cmp.exact(`${at}: observation`, obs, st.obs) &&
      cmp.scalar(`${at}: reward`, reward, st.reward, EXACT) &&
      cmp.exact(`${at}: terminated`, [terminated], [st.terminated]) &&
      cmp.exact(`${at}: truncated`, [truncated], [st.truncated]) &&
      cmp.exact(`${at}: position`, (info as LabyrinthStepInfo).position, st.position);
    if (!ok) return;
  }
}

function checkLabyrinthFile(file: GoldenFile): CheckOutcome {
  const kind = LABYRINTH_CASES[file.case];
  if (kind === undefined) throw new Error(`not a labyrinth case: ${file.case}`);
  const episodes = readGoldenEpisodes(file);
  const cmp = new Comparison();
  episodes.forEach((ep, e) => {
    const label = `episode ${e} (seed ${ep.seed}, ${ep.mazeDims.join("x")}, ${ep.policy})`;
    replaySingle(kind, "fused", ep, `${label} [wrapped env]`, cmp);
    replaySingle(kind, "wrapper-stack", ep, `${label} [wrapper stack]`, cmp);
    replayVector(kind, ep, `${label} [vector env]`, cmp);
  });
  return cmp.outcome();
}

/** Conformance checkers for the labyrinth golden trajectories (cases labyrinth-escape, labyrinth-explore). */
export const labyrinthCheckers: readonly CaseChecker[] = Object.keys(LABYRINTH_CASES).map((name) => ({
  case: name,
  check: checkLabyrinthFile,
}));
