import type { Rng } from "@sgprop/gym";
import type { SequenceBatch } from "../recurrent/batch.js";

/**
 * The batched env a rollout needs (structurally; @sgprop/popgym's LabyrinthVectorEnv satisfies it):
 * in-place observation/reward/flag arrays, per-env seeded resets, stepping of the active envs only.
 */
export interface VectorLabyrinth {
  readonly numEnvs: number;
  readonly obsDim: number;
  readonly numActions: number;
  readonly observations: Float32Array;
  readonly rewards: Float32Array;
  readonly terminated: Uint8Array;
  readonly truncated: Uint8Array;
  resetEnv(k: number, args: { seed?: number }): void;
  step(actions: ArrayLike<number>, active?: ArrayLike<number>): void;
}

/** A recurrent policy seen by the rollout loop: logits for one step of every env. */
export interface PolicyStepper {
  /** Called before a batch's first step (fresh zero state for `numEnvs` envs, at most `maxSteps` steps). */
  begin(numEnvs: number, maxSteps: number): void;
  /** Logits [B * A] for observations [B * O]; the state of envs with starts[b] = 1 is zeroed first. */
  act(obs: Float32Array, starts: Float32Array): Float32Array;
  /** Releases the batch's state. */
  end(): void;
}

/** Draws an action from softmax(logits) by inversion with one uniform number. */
export function sampleCategorical(
  logits: ArrayLike<number>,
  offset: number,
  numActions: number,
  rng: Rng,
): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let a = 0; a < numActions; a++) max = Math.max(max, logits[offset + a] as number);
  let total = 0;
  for (let a = 0; a < numActions; a++) total += Math.exp((logits[offset + a] as number) - max);
  let u = rng.float() * total;
  for (let a = 0; a < numActions - 1; a++) {
    u -= Math.exp((logits[offset + a] as number) - max);
    if (u < 0) return a;
  }
  return numActions - 1;
}

/** The paper trainer's change of explore rewards (LABYRINTH.md, "The paper's trainer"). */
export interface ExploreRewardTransform {
  /** Probability that a step's reward is replaced by -1/episodeLength (paper code: 0.75). */
  readonly zeroProb: number;
  readonly episodeLength: number;
  /** Its own generator, separate from the env's and the policy's. */
  readonly rng: Rng;
}

export interface RolloutResult {
  /** numSteps = rollout length; rows after the loop stopped (all envs finished) are zeros and invalid. */
  readonly batch: SequenceBatch;
  /** Steps actually taken (the loop stops once every env has finished). */
  readonly stepsTaken: number;
  readonly episodeReturns: number[];
  readonly episodeLengths: number[];
  readonly successes: boolean[];
}

/**
 * One REINFORCE batch as the paper's trainer collects it: reset every env with its seed, then step
 * the envs still running with sampled actions until all have finished or `rolloutLength` steps
 * passed. One episode per env, no auto-reset; a finished env is masked out (its observation row
 * keeps its last observation). Buffers span the whole rollout length like the reference's.
 */
export function collectRollout(
  env: VectorLabyrinth,
  policy: PolicyStepper,
  resetSeeds: readonly number[],
  rolloutLength: number,
  actionRng: Rng,
  explore?: ExploreRewardTransform,
): RolloutResult {
  const n = env.numEnvs;
  const o = env.obsDim;
  const numActions = env.numActions;
  for (let k = 0; k < n; k++) env.resetEnv(k, { seed: resetSeeds[k] as number });
  const T = rolloutLength;
  const obs = new Float32Array(T * n * o);
  const starts = new Uint8Array(T * n);
  const actions = new Int32Array(T * n);
  const rewards = new Float32Array(T * n);
  const dones = new Uint8Array(T * n);
  const valid = new Uint8Array(T * n);
  const active = new Uint8Array(n).fill(1);
  const returns = new Float64Array(n);
  const lengths = new Int32Array(n);
  const successes = new Array<boolean>(n).fill(false);
  const stepStarts = new Float32Array(n).fill(1);
  const stepActions = new Int32Array(n);
  let stepsTaken = 0;
  policy.begin(n, T);
  try {
    for (let t = 0; t < T; t++) {
      if (!active.some((a) => a === 1)) break;
      stepsTaken++;
      obs.set(env.observations, t * n * o);
      for (let k = 0; k < n; k++) {
        starts[t * n + k] = stepStarts[k] as number;
        valid[t * n + k] = active[k] as number;
      }
      const logits = policy.act(env.observations, stepStarts);
      for (let k = 0; k < n; k++)
        stepActions[k] = sampleCategorical(logits, k * numActions, numActions, actionRng);
      env.step(stepActions, active);
      for (let k = 0; k < n; k++) {
        actions[t * n + k] = stepActions[k] as number;
        if (!active[k]) continue;
        let r = env.rewards[k] as number;
        const terminated = env.terminated[k] === 1;
        if (explore !== undefined) {
          if (explore.rng.float() < explore.zeroProb) r = -1 / explore.episodeLength;
          if (terminated) r += 1;
        }
        r = Math.fround(r);
        const done = terminated || env.truncated[k] === 1;
        rewards[t * n + k] = r;
        dones[t * n + k] = done ? 1 : 0;
        returns[k] = (returns[k] as number) + r;
        lengths[k] = (lengths[k] as number) + 1;
        if (terminated) successes[k] = true;
        if (done) active[k] = 0;
      }
      stepStarts.fill(0);
    }
  } finally {
    policy.end();
  }
  return {
    batch: { numSteps: T, numEnvs: n, obs, episodeStarts: starts, actions, rewards, dones, valid },
    stepsTaken,
    episodeReturns: Array.from(returns),
    episodeLengths: Array.from(lengths),
    successes,
  };
}

/**
 * The first `numSteps` rows of a batch. Exact for plain backprop (GRU, LSTM, SparseNet backprop)
 * when the dropped rows are all invalid: they add no loss, so no gradient flows from them. Not for
 * sgprop, whose mix injects predictions at invalid steps too.
 */
export function truncateBatch(b: SequenceBatch, numSteps: number): SequenceBatch {
  if (numSteps >= b.numSteps) return b;
  const rows = numSteps * b.numEnvs;
  const o = b.obs.length / (b.numSteps * b.numEnvs);
  const cut = <T extends ArrayLike<number>>(x: T): T =>
    (x as unknown as Uint8Array).subarray(0, rows) as unknown as T;
  return {
    numSteps,
    numEnvs: b.numEnvs,
    obs: b.obs.subarray(0, rows * o),
    episodeStarts: cut(b.episodeStarts),
    actions: cut(b.actions),
    rewards: cut(b.rewards),
    dones: cut(b.dones),
    valid: cut(b.valid),
  };
}
