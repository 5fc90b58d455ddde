/**
 * The critical-point example (Czarnecki et al. 2017, Sec. 3.1, Proposition 1): a synthetic gradient
 * that sees neither activations nor labels can create a critical point the original problem does
 * not have. Data x in {-2, -1, 1, 2}; model f(x) = a x + b, split as h = a x (the lower module) and
 * f = h + b (the upper module); loss L(a, b) = sum_x |a x + b|; the SG for dL/dh is a constant c,
 * regressed onto the mean true gradient.
 *
 * Everything here is scalar float64 arithmetic: the example is small enough to solve by hand, and a
 * closed form is what the test compares against.
 */
export const CRITICAL_POINT_DATA: readonly number[] = [-2, -1, 1, 2];

export interface CriticalPointOptions {
  /** "sg": a learns from the constant SG c; "backprop": a learns from the true gradient. */
  readonly method: "sg" | "backprop";
  readonly a0: number;
  readonly b0: number;
  readonly c0: number;
  /** Gradient-descent step of a and b (full batch). */
  readonly learningRate: number;
  /** Gradient-descent step of the SG's c on its regression loss 1/2 mean_x (c - dl_x/dh)^2. */
  readonly sgLearningRate: number;
  readonly steps: number;
}

export const CRITICAL_POINT_DEFAULTS: CriticalPointOptions = {
  method: "sg",
  a0: 1,
  b0: 2.5,
  c0: 0,
  learningRate: 0.01,
  sgLearningRate: 0.1,
  steps: 1000,
};

export interface CriticalPointState {
  readonly step: number;
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly loss: number;
}

export function criticalPointLoss(a: number, b: number): number {
  let s = 0;
  for (const x of CRITICAL_POINT_DATA) s += Math.abs(a * x + b);
  return s;
}

/** The true gradient (dL/da, dL/db), with sign(0) = 0 as the subgradient. */
export function criticalPointGradient(a: number, b: number): { da: number; db: number } {
  let da = 0;
  let db = 0;
  for (const x of CRITICAL_POINT_DATA) {
    const s = Math.sign(a * x + b);
    da += s * x;
    db += s;
  }
  return { da, db };
}

/** One full-batch gradient-descent step of (a, b) and, for "sg", of c. */
export function criticalPointStep(s: CriticalPointState, o: CriticalPointOptions): CriticalPointState {
  const { a, b, c } = s;
  const n = CRITICAL_POINT_DATA.length;
  const signs = CRITICAL_POINT_DATA.map((x) => Math.sign(a * x + b));
  const db = signs.reduce((acc, v) => acc + v, 0);
  // The lower module's update: dL/da through h = a x, with dL/dh_x replaced by c under SG.
  const da =
    o.method === "sg"
      ? CRITICAL_POINT_DATA.reduce((acc, x) => acc + c * x, 0)
      : CRITICAL_POINT_DATA.reduce((acc, x, i) => acc + (signs[i] as number) * x, 0);
  const dc = signs.reduce((acc, v) => acc + (c - v), 0) / n;
  const next = {
    a: a - o.learningRate * da,
    b: b - o.learningRate * db,
    c: o.method === "sg" ? c - o.sgLearningRate * dc : c,
  };
  return { step: s.step + 1, ...next, loss: criticalPointLoss(next.a, next.b) };
}

/** Full-batch gradient descent on (a, b) and, for "sg", on c; returns every state from step 0. */
export function runCriticalPoint(options: Partial<CriticalPointOptions> = {}): CriticalPointState[] {
  const o = { ...CRITICAL_POINT_DEFAULTS, ...options };
  const out: CriticalPointState[] = [
    { step: 0, a: o.a0, b: o.b0, c: o.c0, loss: criticalPointLoss(o.a0, o.b0) },
  ];
  for (let t = 1; t <= o.steps; t++) out.push(criticalPointStep(out[t - 1] as CriticalPointState, o));
  return out;
}

/**
 * The example solved by hand. Because the data are symmetric (sum x = 0), the SG's update of a,
 * c * sum x, is zero whatever c is: a never leaves a0. b follows the true gradient sum sign(a x + b),
 * which vanishes exactly on the open interval |b| < |a0| (two points on each side of zero), where
 * the SG's target mean sign is 0 too, so c -> 0. Every (a0, b, 0) with |b| < |a0| is a critical point
 * of the SG system, with loss 6|a0| > 0, and none of them is critical for L: dL/da = 6 sign(a0)
 * there. L's only critical point (and global minimum) is a = b = 0 with L = 0.
 */
export function criticalPointAnalysis(a0: number): {
  readonly a: number;
  readonly bInterval: readonly [number, number];
  readonly c: number;
  readonly loss: number;
  readonly trueGradientA: number;
  readonly globalMinimum: { readonly a: number; readonly b: number; readonly loss: number };
} {
  return {
    a: a0,
    bInterval: [-Math.abs(a0), Math.abs(a0)],
    c: 0,
    loss: 6 * Math.abs(a0),
    trueGradientA: 6 * Math.sign(a0),
    globalMinimum: { a: 0, b: 0, loss: 0 },
  };
}
