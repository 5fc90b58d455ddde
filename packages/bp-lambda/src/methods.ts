/**
 * The learning methods of the paper's Table 2 as settings of one sequence learner:
 *   bp-lambda  truncation 1 (no BPTT at all) + synthetic gradients learnt online by BP(lambda)
 *   bptt       truncated BPTT with truncation n (n >= T is full BPTT), no synthetic gradients
 *   bptt-sg    truncated BPTT with n-step synthetic gradients (Jaderberg et al.): the synthesiser's
 *              prediction is injected at each truncation's last state and regressed on the gradient
 *              that the next truncation backpropagates to that state
 *   no-bptt    truncation 1, no synthetic gradients (each step learns from its own loss only)
 */
export const METHODS = ["bp-lambda", "bptt", "bptt-sg", "no-bptt"] as const;
export type MethodName = (typeof METHODS)[number];

export interface MethodSettings {
  readonly method: MethodName;
  /** Steps per truncation of the backward pass; Infinity for full BPTT. */
  readonly truncation: number;
  /** How synthetic gradients are learnt, if used. */
  readonly sg: "none" | "bp-lambda" | "dni";
  /** BP(lambda)'s trace decay (bp-lambda only). */
  readonly lambda: number;
  /** Discount of future gradients in the BP(lambda) target. */
  readonly gamma: number;
  /** Factor of the synthetic gradient fed to the network (the authors' `sg_weight`). */
  readonly sgScale: number;
  /** Norm clip of each step's synthesiser update (BP(lambda); the authors' code uses 1). */
  readonly stepClipNorm: number;
  /**
   * Truncation 1 with an LSTM: carry each cell's gradient back through its own forget gate (the
   * e-prop eligibility vectors of the authors' lstm_bp_lambda.py, which their BP(lambda) and no-BPTT
   * LSTMs use); false keeps strictly one-step parameter gradients.
   */
  readonly cellTraces: boolean;
}

export interface MethodChoice {
  readonly method: MethodName;
  /** bptt / bptt-sg: truncation n (the paper's Table 2 uses 2..5); bptt without n is full BPTT. */
  readonly n?: number;
  readonly lambda?: number;
  readonly gamma?: number;
  readonly sgScale?: number;
  readonly stepClipNorm?: number;
  readonly cellTraces?: boolean;
}

export class MethodError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MethodError";
  }
}

/** Resolves a method choice into settings, checking each value. */
export function methodSettings(choice: MethodChoice): MethodSettings {
  const { method } = choice;
  if (!(METHODS as readonly string[]).includes(method)) {
    throw new MethodError(`unknown method "${method}" (expected one of ${METHODS.join(", ")})`);
  }
  const n = choice.n;
  if (n !== undefined && !(n === Number.POSITIVE_INFINITY || (Number.isInteger(n) && n >= 1))) {
    throw new MethodError(`n must be a positive integer, got ${n}`);
  }
  if (method === "bptt-sg" && n === undefined)
    throw new MethodError("method bptt-sg needs n (the truncation, e.g. 3)");
  const lambda = choice.lambda ?? 1;
  if (!(lambda >= 0 && lambda <= 1)) throw new MethodError(`lambda must be in [0, 1], got ${lambda}`);
  const gamma = choice.gamma ?? 1;
  if (!(gamma >= 0 && gamma <= 1)) throw new MethodError(`gamma must be in [0, 1], got ${gamma}`);
  const sgScale = choice.sgScale ?? 1;
  if (!(sgScale >= 0 && Number.isFinite(sgScale)))
    throw new MethodError(`sgScale must be finite and >= 0, got ${sgScale}`);
  const stepClipNorm = choice.stepClipNorm ?? 1;
  if (!(stepClipNorm > 0)) throw new MethodError(`stepClipNorm must be > 0, got ${stepClipNorm}`);
  const truncation =
    method === "bp-lambda" || method === "no-bptt"
      ? 1
      : method === "bptt"
        ? (n ?? Number.POSITIVE_INFINITY)
        : (n as number);
  const sg = method === "bp-lambda" ? "bp-lambda" : method === "bptt-sg" ? "dni" : "none";
  // Eligibility vectors exist only without backprop (BP(lambda), no BPTT), and only when asked for:
  // the authors' LSTM configurations leave them off (use_etraces: false).
  const cellTraces = (method === "bp-lambda" || method === "no-bptt") && (choice.cellTraces ?? false);
  return { method, truncation, sg, lambda, gamma, sgScale, stepClipNorm, cellTraces };
}

/** A short label for tables: "BP(0.5)", "BPTT n=3", "BPTT+SG n=3", "no BPTT". */
export function methodLabel(s: MethodSettings): string {
  if (s.method === "bp-lambda") return `BP(${s.lambda})`;
  if (s.method === "no-bptt") return "no BPTT";
  const n = s.truncation === Number.POSITIVE_INFINITY ? "full" : `n=${s.truncation}`;
  return s.method === "bptt" ? `BPTT ${n}` : `BPTT+SG ${n}`;
}

/**
 * The truncations of a sequence of length T, as the authors cut it (engine.py): the first one
 * holds the remainder T mod n (or n), then full truncations of n steps. [start, end) pairs.
 */
export function truncations(T: number, n: number): [number, number][] {
  if (n >= T) return [[0, T]];
  const remainder = T % n === 0 ? n : T % n;
  const out: [number, number][] = [[0, remainder]];
  for (let a = remainder; a < T; a += n) out.push([a, a + n]);
  return out;
}
