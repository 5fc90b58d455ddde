import {
  Box,
  Discrete,
  Env,
  type EnvCoreState,
  type Info,
  type ResetArgs,
  type StepResult,
} from "@sgprop/gym";

interface ThermostatState {
  core: EnvCoreState;
  temperature: number;
  t: number;
}

/** Keep a room near 20 degrees: cool (-1), wait (0) or heat (+1), with noisy drift. */
export class Thermostat extends Env<Float32Array, number> {
  // [temperature, fraction of the horizon elapsed]
  readonly observationSpace = new Box([-50, 0], [50, 1], [2]);
  readonly actionSpace = new Discrete(3, { start: -1 });
  private temperature = 0;
  private t = 0;

  constructor(readonly horizon = 12) {
    super();
  }

  override reset(args?: ResetArgs): [Float32Array, Info] {
    super.reset(args); // applies the seed to this.rng
    this.temperature = this.rng.integer(0, 30);
    this.t = 0;
    return [this.observe(), {}];
  }

  step(action: number): StepResult<Float32Array> {
    const drift = this.rng.normal(0, 0.5);
    this.temperature = Math.min(50, Math.max(-50, this.temperature + 2 * action + drift));
    this.t += 1;
    const reward = -Math.abs(this.temperature - 20) / 50;
    const comfortable = Math.abs(this.temperature - 20) < 1;
    return [this.observe(), reward, comfortable, this.t >= this.horizon, { temperature: this.temperature }];
  }

  // Optional checkpoints: plain data, the generator included (coreState), so a restored env
  // continues exactly; envProperties then also checks checkpointRestoresExactly.
  override getState(): ThermostatState {
    return { core: this.coreState(), temperature: this.temperature, t: this.t };
  }

  override setState(state: ThermostatState): void {
    this.restoreCoreState(state.core);
    this.temperature = state.temperature;
    this.t = state.t;
  }

  private observe(): Float32Array {
    return Float32Array.of(this.temperature, this.t / this.horizon);
  }
}

// The factory must build a fresh, equal env on every call.
export const makeThermostat = () => new Thermostat();
