/**
 * Typed host wrapper of adam.c: one Adam step (torch.optim.Adam) over a parameter whose values,
 * gradient and moments live in the kernels' memory.
 */
import { kernelRuntime } from "../runtime.js";

/** The settings of one Adam step; `step` is the parameter's step count k (from 1). */
export interface AdamStepSettings {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly learningRate: number;
  readonly step: number;
}

/** The 7 float32 constants adam.c reads (`hp`), computed in f64 as the tfjs formulation does. */
export function adamConstants(s: AdamStepSettings): number[] {
  const k = s.step;
  return [
    s.beta1,
    1 - s.beta1,
    s.beta2,
    1 - s.beta2,
    Math.sqrt(1 - s.beta2 ** k),
    s.epsilon,
    s.learningRate / (1 - s.beta1 ** k),
  ];
}

/**
 * Updates n parameters in place: `hp` (the constants), `p`, `g`, `m`, `v` are float offsets in the
 * kernels' memory (from `alloc` or `transientLayout`); m and v are updated too.
 */
export function adamStep(hp: number, p: number, g: number, m: number, v: number, n: number): void {
  kernelRuntime().run("adam_step", [4 * hp, 4 * p, 4 * g, 4 * m, 4 * v], n, 8 * n);
}
