/**
 * The recurrent cores of the paper, in float64 with hand-written one-step backward passes and
 * state Jacobians (what BP(lambda) and the truncated baselines are built from).
 *
 *   RNN:  c_t = W_ih x_t + W_hh h_{t-1} + b,  h_t = f(c_t)   (f = identity for the fixed linear
 *         RNN of the toy task, tanh for the learning one); state = h.
 *   LSTM: PyTorch's gate order i, f, g, o with one bias vector; state = [h, c] (the synthesiser
 *         predicts gradients for both, as the authors' `synth_cell_grad`).
 * Parameter shapes follow PyTorch: W_ih [G, I], W_hh [G, H], b [G], G = H (RNN) or 4H (LSTM).
 */
import { DenseRowJacobian, type RowJacobian, rowsTimesMatrix, rowTimesMatrix } from "@sgprop/agents";
import type { Rng } from "@sgprop/gym";
import { backwardLinear, preactivations } from "./linear.js";

export type CoreKind = "rnn" | "lstm";
export type Nonlinearity = "identity" | "tanh";

/** What one forward step keeps for its backward pass. */
export interface StepCache {
  readonly prev: Float64Array;
  readonly input: Float64Array;
  readonly state: Float64Array;
  /** RNN: f'(c) [B, H]. LSTM: gates i, f, g, o [B, 4H] then tanh(c_t) [B, H]. */
  readonly aux: Float64Array;
}

export type CoreParams = { w_ih: Float64Array; w_hh: Float64Array; b: Float64Array };

export interface Core {
  readonly kind: CoreKind;
  readonly inputSize: number;
  readonly hiddenSize: number;
  /** Size of the recurrent state (H for the RNN, 2H for the LSTM). */
  readonly stateSize: number;
  readonly params: CoreParams;
  forward(prev: Float64Array, input: Float64Array, batch: number): StepCache;
  /**
   * Adds d loss / d params into `grads` and returns d loss / d prev for d loss / d state = `dState`.
   * `hidden = false` leaves out the part that reaches h_{t-1} through W_hh (zeros), for callers
   * that only carry the LSTM cell's gradient (its eligibility vectors).
   */
  backward(
    cache: StepCache,
    dState: Float64Array,
    batch: number,
    grads: CoreParams,
    hidden?: boolean,
  ): Float64Array;
  /** d state_t / d state_{t-1} for each batch element, [B, S, S]. */
  jacobian(cache: StepCache, batch: number): Float64Array;
  /**
   * The same Jacobians as row vectors times J, bit for bit as `rowTimesJacobian` on `jacobian()`'s
   * dense matrices, in a form that skips their structural zeros (BP(lambda)'s replay multiplies by
   * them O(T^2) times per sequence).
   */
  rowJacobian(cache: StepCache, batch: number): RowJacobian;
}

export function zerosLike(p: CoreParams): CoreParams {
  return {
    w_ih: new Float64Array(p.w_ih.length),
    w_hh: new Float64Array(p.w_hh.length),
    b: new Float64Array(p.b.length),
  };
}

/** The authors' initialisation: U(-1/sqrt(H), 1/sqrt(H)) weights, bias the sum of two such draws. */
function initParams(gates: number, inputSize: number, hiddenSize: number, rng: Rng): CoreParams {
  const bound = 1 / Math.sqrt(hiddenSize);
  const u = () => (2 * rng.float() - 1) * bound;
  return {
    w_ih: Float64Array.from({ length: gates * inputSize }, u),
    w_hh: Float64Array.from({ length: gates * hiddenSize }, u),
    b: Float64Array.from({ length: gates }, () => u() + u()),
  };
}

export class RnnCore implements Core {
  readonly kind = "rnn" as const;
  readonly stateSize: number;
  readonly params: CoreParams;

  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
    readonly nonlinearity: Nonlinearity,
    rng: Rng,
  ) {
    this.stateSize = hiddenSize;
    this.params = initParams(hiddenSize, inputSize, hiddenSize, rng);
  }

  forward(prev: Float64Array, input: Float64Array, B: number): StepCache {
    const H = this.hiddenSize;
    const pre = preactivations(this.params, input, prev, H, B, H, this.inputSize, H);
    const state = new Float64Array(B * H);
    const aux = new Float64Array(B * H);
    for (let i = 0; i < B * H; i++) {
      if (this.nonlinearity === "tanh") {
        const y = Math.tanh(pre[i] as number);
        state[i] = y;
        aux[i] = 1 - y * y;
      } else {
        state[i] = pre[i] as number;
        aux[i] = 1;
      }
    }
    return { prev, input, state, aux };
  }

  backward(
    cache: StepCache,
    dState: Float64Array,
    B: number,
    grads: CoreParams,
    hidden = true,
  ): Float64Array {
    const H = this.hiddenSize;
    const dPre = new Float64Array(B * H);
    for (let i = 0; i < B * H; i++) dPre[i] = (dState[i] as number) * (cache.aux[i] as number);
    return backwardLinear(
      this.params,
      grads,
      dPre,
      cache.input,
      cache.prev,
      H,
      B,
      H,
      this.inputSize,
      H,
      hidden,
    );
  }

  rowJacobian(cache: StepCache, B: number): RowJacobian {
    return new DenseRowJacobian(this.jacobian(cache, B), B, this.hiddenSize);
  }

  jacobian(cache: StepCache, B: number): Float64Array {
    const H = this.hiddenSize;
    const jac = new Float64Array(B * H * H);
    for (let n = 0; n < B; n++) {
      for (let i = 0; i < H; i++) {
        const d = cache.aux[n * H + i] as number;
        for (let j = 0; j < H; j++) jac[n * H * H + i * H + j] = d * (this.params.w_hh[i * H + j] as number);
      }
    }
    return jac;
  }
}

export class LstmCore implements Core {
  readonly kind = "lstm" as const;
  readonly stateSize: number;
  readonly params: CoreParams;

  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
    rng: Rng,
  ) {
    this.stateSize = 2 * hiddenSize;
    this.params = initParams(4 * hiddenSize, inputSize, hiddenSize, rng);
  }

  forward(prev: Float64Array, input: Float64Array, B: number): StepCache {
    const H = this.hiddenSize;
    const S = 2 * H;
    const pre = preactivations(this.params, input, prev, S, B, 4 * H, this.inputSize, H);
    const state = new Float64Array(B * S);
    const aux = new Float64Array(B * 5 * H);
    for (let n = 0; n < B; n++) {
      for (let k = 0; k < H; k++) {
        const p = n * 4 * H;
        const i = 1 / (1 + Math.exp(-(pre[p + k] as number)));
        const f = 1 / (1 + Math.exp(-(pre[p + H + k] as number)));
        const g = Math.tanh(pre[p + 2 * H + k] as number);
        const o = 1 / (1 + Math.exp(-(pre[p + 3 * H + k] as number)));
        const c = f * (prev[n * S + H + k] as number) + i * g;
        const tc = Math.tanh(c);
        state[n * S + k] = o * tc;
        state[n * S + H + k] = c;
        const a = n * 5 * H;
        aux[a + k] = i;
        aux[a + H + k] = f;
        aux[a + 2 * H + k] = g;
        aux[a + 3 * H + k] = o;
        aux[a + 4 * H + k] = tc;
      }
    }
    return { prev, input, state, aux };
  }

  /** d(h_t, c_t) -> d(gate preactivations) and the direct part d c_{t-1} = dc f. */
  private gateGradients(cache: StepCache, dState: Float64Array, B: number) {
    const H = this.hiddenSize;
    const S = 2 * H;
    const dPre = new Float64Array(B * 4 * H);
    const dcPrev = new Float64Array(B * H);
    for (let n = 0; n < B; n++) {
      const a = n * 5 * H;
      for (let k = 0; k < H; k++) {
        const i = cache.aux[a + k] as number;
        const f = cache.aux[a + H + k] as number;
        const g = cache.aux[a + 2 * H + k] as number;
        const o = cache.aux[a + 3 * H + k] as number;
        const tc = cache.aux[a + 4 * H + k] as number;
        const dh = dState[n * S + k] as number;
        const dc = (dState[n * S + H + k] as number) + dh * o * (1 - tc * tc);
        const p = n * 4 * H;
        dPre[p + k] = dc * g * i * (1 - i);
        dPre[p + H + k] = dc * (cache.prev[n * S + H + k] as number) * f * (1 - f);
        dPre[p + 2 * H + k] = dc * i * (1 - g * g);
        dPre[p + 3 * H + k] = dh * tc * o * (1 - o);
        dcPrev[n * H + k] = dc * f;
      }
    }
    return { dPre, dcPrev };
  }

  backward(
    cache: StepCache,
    dState: Float64Array,
    B: number,
    grads: CoreParams,
    hidden = true,
  ): Float64Array {
    const H = this.hiddenSize;
    const S = 2 * H;
    const { dPre, dcPrev } = this.gateGradients(cache, dState, B);
    const dh = backwardLinear(
      this.params,
      grads,
      dPre,
      cache.input,
      cache.prev,
      S,
      B,
      4 * H,
      this.inputSize,
      H,
      hidden,
    );
    const dPrev = new Float64Array(B * S);
    for (let n = 0; n < B; n++) {
      dPrev.set(dh.subarray(n * H, (n + 1) * H), n * S);
      dPrev.set(dcPrev.subarray(n * H, (n + 1) * H), n * S + H);
    }
    return dPrev;
  }

  jacobian(cache: StepCache, B: number): Float64Array {
    const H = this.hiddenSize;
    const S = 2 * H;
    const W = this.params.w_hh;
    const jac = new Float64Array(B * S * S);
    for (let n = 0; n < B; n++) {
      const a = n * 5 * H;
      const base = n * S * S;
      for (let k = 0; k < H; k++) {
        const i = cache.aux[a + k] as number;
        const f = cache.aux[a + H + k] as number;
        const g = cache.aux[a + 2 * H + k] as number;
        const o = cache.aux[a + 3 * H + k] as number;
        const tc = cache.aux[a + 4 * H + k] as number;
        const cPrev = cache.prev[n * S + H + k] as number;
        const ci = g * i * (1 - i);
        const cf = cPrev * f * (1 - f);
        const cg = i * (1 - g * g);
        const dhdc = o * (1 - tc * tc);
        const ho = tc * o * (1 - o);
        const rowC = base + (H + k) * S;
        const rowH = base + k * S;
        for (let j = 0; j < H; j++) {
          // d c_t,k / d h_{t-1},j through the input, forget and candidate gates.
          const dc =
            ci * (W[k * H + j] as number) +
            cf * (W[(H + k) * H + j] as number) +
            cg * (W[(2 * H + k) * H + j] as number);
          jac[rowC + j] = dc;
          jac[rowH + j] = ho * (W[(3 * H + k) * H + j] as number) + dhdc * dc;
        }
        jac[rowC + H + k] = f;
        jac[rowH + H + k] = dhdc * f;
      }
    }
    return jac;
  }

  rowJacobian(cache: StepCache, B: number): RowJacobian {
    const H = this.hiddenSize;
    const S = 2 * H;
    const W = this.params.w_hh;
    const left = new Float64Array(B * S * H);
    const diagH = new Float64Array(B * H);
    const diagC = new Float64Array(B * H);
    // The entries of jacobian(), computed the same way; two examples share each pass over W's rows.
    const cf = new Float64Array(10);
    for (let n = 0; n < B; n += 2) {
      const pair = n + 1 < B;
      for (let k = 0; k < H; k++) {
        for (let e = 0; e < (pair ? 2 : 1); e++) {
          const a = (n + e) * 5 * H;
          const i = cache.aux[a + k] as number;
          const f = cache.aux[a + H + k] as number;
          const g = cache.aux[a + 2 * H + k] as number;
          const o = cache.aux[a + 3 * H + k] as number;
          const tc = cache.aux[a + 4 * H + k] as number;
          const cPrev = cache.prev[(n + e) * S + H + k] as number;
          const dhdc = o * (1 - tc * tc);
          cf[5 * e] = g * i * (1 - i);
          cf[5 * e + 1] = cPrev * f * (1 - f);
          cf[5 * e + 2] = i * (1 - g * g);
          cf[5 * e + 3] = dhdc;
          cf[5 * e + 4] = tc * o * (1 - o);
          diagH[(n + e) * H + k] = dhdc * f;
          diagC[(n + e) * H + k] = f;
        }
        const wi = k * H;
        const wf = (H + k) * H;
        const wg = (2 * H + k) * H;
        const wo = (3 * H + k) * H;
        const ci = cf[0] as number;
        const cF = cf[1] as number;
        const cg = cf[2] as number;
        const dhdc = cf[3] as number;
        const ho = cf[4] as number;
        const rowC = n * S * H + (H + k) * H;
        const rowH = n * S * H + k * H;
        if (pair) {
          const ci2 = cf[5] as number;
          const cF2 = cf[6] as number;
          const cg2 = cf[7] as number;
          const dhdc2 = cf[8] as number;
          const ho2 = cf[9] as number;
          const rowC2 = rowC + S * H;
          const rowH2 = rowH + S * H;
          for (let j = 0; j < H; j++) {
            const w1 = W[wi + j] as number;
            const w2 = W[wf + j] as number;
            const w3 = W[wg + j] as number;
            const w4 = W[wo + j] as number;
            const dc = ci * w1 + cF * w2 + cg * w3;
            left[rowC + j] = dc;
            left[rowH + j] = ho * w4 + dhdc * dc;
            const dc2 = ci2 * w1 + cF2 * w2 + cg2 * w3;
            left[rowC2 + j] = dc2;
            left[rowH2 + j] = ho2 * w4 + dhdc2 * dc2;
          }
        } else {
          for (let j = 0; j < H; j++) {
            const dc = ci * (W[wi + j] as number) + cF * (W[wf + j] as number) + cg * (W[wg + j] as number);
            left[rowC + j] = dc;
            left[rowH + j] = ho * (W[wo + j] as number) + dhdc * dc;
          }
        }
      }
    }
    return new LstmRowJacobian(left, diagH, diagC, B, H);
  }
}

/**
 * An LSTM's Jacobians kept without their structural zeros: the columns of h_{t-1} are dense
 * ([B, 2H, H], rows h_t then c_t), the columns of c_{t-1} hold only d h_t,k / d c_{t-1},k = dhdc f and
 * d c_t,k / d c_{t-1},k = f. Half the memory and work of the dense matrices, the same sums.
 */
class LstmRowJacobian implements RowJacobian {
  constructor(
    private readonly left: Float64Array,
    private readonly diagH: Float64Array,
    private readonly diagC: Float64Array,
    private readonly batch: number,
    private readonly hidden: number,
  ) {}

  times(x: Float64Array, out: Float64Array): Float64Array {
    return this.timesMany(x, 1, out);
  }

  timesMany(x: Float64Array, count: number, out: Float64Array): Float64Array {
    const H = this.hidden;
    const S = 2 * H;
    const BS = this.batch * S;
    const { left, diagH, diagC } = this;
    for (let n = 0; n < this.batch; n++) {
      const xo = n * S;
      for (let v = 0; v < count; v++) out.fill(0, v * BS + xo, v * BS + xo + H);
      if (count === 1) rowTimesMatrix(x, xo, left, n * S * H, S, H, out, xo);
      else rowsTimesMatrix(x, xo, BS, count, left, n * S * H, S, H, out, xo, BS);
      for (let v = 0; v < count; v++) {
        const vo = v * BS + xo;
        for (let k = 0; k < H; k++) {
          // Rows k (h) and H + k (c) are the only ones with an entry in column H + k, in that order.
          const xh = x[vo + k] as number;
          const xc = x[vo + H + k] as number;
          let e = 0;
          if (xh !== 0) e += xh * (diagH[n * H + k] as number);
          if (xc !== 0) e += xc * (diagC[n * H + k] as number);
          out[vo + H + k] = e;
        }
      }
    }
    return out;
  }
}
