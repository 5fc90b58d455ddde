import { Rng } from "@sgprop/gym";
import { Linear64Learner } from "../linear64.js";
import type { SgConditioning } from "../sg.js";
import { DNI_STREAMS } from "../streams.js";

/**
 * The loss a linear SG implies (Czarnecki et al. 2017, Fig. 2, and Fig. 9 for SGs without labels
 * or without activations). A 2-D output h = x W + b is regressed onto y = x W* (MSE), with the SG
 * on the output. A gradient field that is linear in h is the gradient of a quadratic: integrating
 * SG(., y) along the straight line from h = 0 gives
 *   L~(h; y) = h C^T + y B h^T + 1/2 h A h^T     (A's symmetric part only),
 * which we draw on a grid next to the true loss 1/2 ||h - y||^2. With labels and activations the SG
 * can learn A = I, B = -I, C = 0 and the surfaces coincide; without labels the SG can only centre
 * one bowl on the mean target; without activations it is constant in h and implies a plane.
 */
export const SURFACE_CONDITIONINGS: readonly SgConditioning[] = ["both", "activation", "label"];

export const SURFACE_INPUTS = 4;
export const SURFACE_POINTS = 200;

/** Inputs [n, 4] and 2-D targets [n, 2] of the loss-surface task (stream "dni/data/surface"). */
export function surfaceData(seed: number): { x: Float64Array; y: Float64Array; n: number } {
  const rng = Rng.derive(seed, `${DNI_STREAMS.data}/surface`);
  const w = Array.from({ length: SURFACE_INPUTS * 2 }, () => rng.normal() / Math.sqrt(SURFACE_INPUTS));
  const n = SURFACE_POINTS;
  const x = new Float64Array(n * SURFACE_INPUTS);
  const y = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < SURFACE_INPUTS; j++) x[i * SURFACE_INPUTS + j] = rng.normal();
    for (let o = 0; o < 2; o++) {
      let v = 0;
      for (let j = 0; j < SURFACE_INPUTS; j++)
        v += (x[i * SURFACE_INPUTS + j] as number) * (w[j * 2 + o] as number);
      y[i * 2 + o] = v;
    }
  }
  return { x, y, n };
}

export function surfaceLearner(
  conditioning: SgConditioning,
  learningRate: number,
  seed: number,
): Linear64Learner {
  return new Linear64Learner({
    layerSizes: [SURFACE_INPUTS, 2],
    loss: "mse",
    method: "sg",
    sgAt: [1],
    conditioning,
    learningRate,
    seed,
  });
}

/** The implied loss at h for label y, from a module's (a?, b?, c) (2-D h and y). */
export function impliedLoss(
  sg: { a?: ArrayLike<number>; b?: ArrayLike<number>; c: ArrayLike<number> },
  h: readonly [number, number],
  y: readonly [number, number],
): number {
  let v = 0;
  for (let j = 0; j < 2; j++) {
    let g = sg.c[j] as number;
    if (sg.b) g += y[0] * (sg.b[j] as number) + y[1] * (sg.b[2 + j] as number);
    v += g * (h[j] as number);
  }
  if (sg.a) {
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 2; j++)
        v += 0.5 * (h[i] as number) * (sg.a[i * 2 + j] as number) * (h[j] as number);
  }
  return v;
}

export interface SurfaceCell {
  readonly panel: string;
  readonly h1: number;
  readonly h2: number;
  /** Loss minus its minimum over the grid. */
  readonly loss: number;
}

/** The true loss and each module's implied loss on a (size x size) grid of h around y. */
export function surfaceGrid(
  modules: readonly {
    conditioning: SgConditioning;
    sg: { a?: ArrayLike<number>; b?: ArrayLike<number>; c: ArrayLike<number> };
  }[],
  y: readonly [number, number],
  size = 21,
  radius = 3,
): SurfaceCell[] {
  const coords = Array.from({ length: size }, (_, i) => -radius + (2 * radius * i) / (size - 1));
  const panels: { panel: string; f: (h: [number, number]) => number }[] = [
    { panel: "true loss 1/2 |h - y|^2", f: (h) => 0.5 * ((h[0] - y[0]) ** 2 + (h[1] - y[1]) ** 2) },
    ...modules.map((m) => ({
      panel: `implied by SG ${m.conditioning === "both" ? "h A + y B + C" : m.conditioning === "activation" ? "h A + C (no labels)" : "y B + C (no activations)"}`,
      f: (h: [number, number]) => impliedLoss(m.sg, h, y),
    })),
  ];
  const out: SurfaceCell[] = [];
  for (const { panel, f } of panels) {
    const cells = coords.flatMap((h1) =>
      coords.map((h2) => ({ h1: y[0] + h1, h2: y[1] + h2, v: f([y[0] + h1, y[1] + h2]) })),
    );
    const min = Math.min(...cells.map((c) => c.v));
    for (const c of cells) out.push({ panel, h1: c.h1, h2: c.h2, loss: c.v - min });
  }
  return out;
}
