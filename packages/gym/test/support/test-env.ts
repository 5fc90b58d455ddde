import { Env, type Info, type ResetArgs, type StepResult } from "../../src/env.js";
import { Box } from "../../src/spaces/box.js";
import { Discrete } from "../../src/spaces/discrete.js";
import type { Space } from "../../src/spaces/space.js";

/** Hooks a TestEnv runs; `state` is the env's scratch object, `draw` its seeded uniform draw. */
export interface TestEnvHooks<Obs, Act> {
  observationSpace: Space<Obs>;
  actionSpace: Space<Act>;
  reset(ctx: TestEnvContext, options: Record<string, unknown> | undefined): [Obs, Info];
  step(ctx: TestEnvContext, action: Act): StepResult<Obs>;
}

export interface TestEnvContext {
  state: Record<string, number>;
  draw(): number;
}

/** A generic env whose reset/step are injected, for wrapper, vector and checker tests. */
export class TestEnv<Obs, Act> extends Env<Obs, Act> {
  readonly observationSpace: Space<Obs>;
  readonly actionSpace: Space<Act>;
  readonly ctx: TestEnvContext = { state: {}, draw: () => this.rng.float() };
  resets = 0;
  steps = 0;
  closed = false;

  constructor(private readonly hooks: TestEnvHooks<Obs, Act>) {
    super();
    this.observationSpace = hooks.observationSpace;
    this.actionSpace = hooks.actionSpace;
  }

  override reset(args?: ResetArgs): [Obs, Info] {
    super.reset(args);
    this.resets += 1;
    this.ctx.state = {};
    return this.hooks.reset(this.ctx, args?.options);
  }

  step(action: Act): StepResult<Obs> {
    this.steps += 1;
    return this.hooks.step(this.ctx, action);
  }

  override close(): void {
    this.closed = true;
  }
}

/**
 * A counter env: observation [t, r] where t counts steps and r is a seeded draw made at reset;
 * action 1 adds 1 to the reward; the episode terminates after `length` steps.
 */
export function counterEnv(length = 3): TestEnv<Float32Array, number> {
  const obs = (ctx: TestEnvContext) => Float32Array.of(ctx.state.t ?? 0, ctx.state.r ?? 0);
  return new TestEnv({
    observationSpace: new Box(0, 100, [2]),
    actionSpace: new Discrete(2),
    reset: (ctx) => {
      ctx.state.t = 0;
      ctx.state.r = ctx.draw();
      return [obs(ctx), { r: ctx.state.r }];
    },
    step: (ctx, action) => {
      ctx.state.t = (ctx.state.t ?? 0) + 1;
      const t = ctx.state.t;
      return [obs(ctx), t + action, t >= length, false, { t }];
    },
  });
}
