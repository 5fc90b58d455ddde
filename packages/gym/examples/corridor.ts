import {
  checkEnv,
  Discrete,
  Env,
  type Info,
  make,
  type ResetArgs,
  register,
  type StepResult,
  SyncVectorEnv,
} from "@sgprop/gym";

/** A corridor of `length` cells: step left (0) or right (1) until you reach the last cell. */
class Corridor extends Env<number, number> {
  readonly observationSpace: Discrete;
  readonly actionSpace = new Discrete(2);
  private position = 0;

  constructor(readonly length: number) {
    super();
    this.observationSpace = new Discrete(length + 1);
  }

  override reset(args?: ResetArgs): [number, Info] {
    super.reset(args); // checks and applies the seed
    this.position = this.rng.integer(0, this.length - 1); // seeded start cell
    return [this.position, {}];
  }

  step(action: number): StepResult<number> {
    this.position = Math.max(0, this.position + (action === 1 ? 1 : -1));
    const terminated = this.position === this.length;
    return [this.position, terminated ? 1 : -0.1, terminated, false, { position: this.position }];
  }
}

// Registration is an explicit call (packages export e.g. registerPopgymEnvs()), never an import side effect.
register({
  id: "demo/Corridor-v0",
  entryPoint: ({ length }: { length: number }) => new Corridor(length),
  kwargs: { length: 5 },
  maxEpisodeSteps: 20, // make() wraps the env in TimeLimit(env, 20)
});

const env = make("demo/Corridor-v0", { length: 8 }); // kwargs override the registered ones
console.log(checkEnv(env).problems); // [] : the env honours the contract
const [start] = env.reset({ seed: 42 });
console.log(start, env.step(1)[0]); // same numbers on every run

// Four copies; sub-env k is seeded with 0 + k; observations are one-hot rows of a Float32Array.
const vec = new SyncVectorEnv(Array.from({ length: 4 }, () => () => make("demo/Corridor-v0")));
const [batch] = vec.reset({ seed: 0 });
console.log(vec.observationSpace.shape, batch.length); // [4, 6] 24
// Step only the first three sub-envs; the fourth keeps its observation row (the paper's rollouts
// stop envs that finished while the others go on).
const [next, rewards, terminated] = vec.step([1, 1, 0, 1], { mask: [true, true, true, false] });
console.log(next.length, Array.from(rewards), Array.from(terminated));
