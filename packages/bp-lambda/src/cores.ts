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
import type { Rng } from "@sgprop/gym";

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
  /** Adds d loss / d params into `grads` and returns d loss / d prev for d loss / d state = `dState`. */
  backward(cache: StepCache, dState: Float64Array, batch: number, grads: CoreParams): Float64Array;
  /** d state_t / d state_{t-1} for each batch element, [B, S, S]. */
  jacobian(cache: StepCache, batch: number): Float64Array;
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

/** pre[n, g] = b[g] + W_ih[g] . x[n] + W_hh[g] . h[n]. */
function preactivations(
  p: CoreParams,
  x: Float64Array,
  h: Float64Array,
  hStride: number,
  B: number,
  G: number,
  I: number,
  H: number,
) {
  const pre = new Float64Array(B * G);
  for (let n = 0; n < B; n++) {
    for (let g = 0; g < G; g++) {
      let v = p.b[g] as number;
      for (let k = 0; k < I; k++) v += (p.w_ih[g * I + k] as number) * (x[n * I + k] as number);
      for (let k = 0; k < H; k++) v += (p.w_hh[g * H + k] as number) * (h[n * hStride + k] as number);
      pre[n * G + g] = v;
    }
  }
  return pre;
}

/** grads += dPre^T [x, h]; returns dPre W_hh (the gradient reaching h). */
function backwardLinear(
  p: CoreParams,
  grads: CoreParams,
  dPre: Float64Array,
  x: Float64Array,
  h: Float64Array,
  hStride: number,
  B: number,
  G: number,
  I: number,
  H: number,
): Float64Array {
  const dh = new Float64Array(B * H);
  for (let n = 0; n < B; n++) {
    for (let g = 0; g < G; g++) {
      const d = dPre[n * G + g] as number;
      if (d === 0) continue;
      grads.b[g] = (grads.b[g] as number) + d;
      for (let k = 0; k < I; k++)
        grads.w_ih[g * I + k] = (grads.w_ih[g * I + k] as number) + d * (x[n * I + k] as number);
      for (let k = 0; k < H; k++) {
        grads.w_hh[g * H + k] = (grads.w_hh[g * H + k] as number) + d * (h[n * hStride + k] as number);
        dh[n * H + k] = (dh[n * H + k] as number) + d * (p.w_hh[g * H + k] as number);
      }
    }
  }
  return dh;
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

  backward(cache: StepCache, dState: Float64Array, B: number, grads: CoreParams): Float64Array {
    const H = this.hiddenSize;
    const dPre = new Float64Array(B * H);
    for (let i = 0; i < B * H; i++) dPre[i] = (dState[i] as number) * (cache.aux[i] as number);
    return backwardLinear(this.params, grads, dPre, cache.input, cache.prev, H, B, H, this.inputSize, H);
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

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

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
        const i = sigmoid(pre[p + k] as number);
        const f = sigmoid(pre[p + H + k] as number);
        const g = Math.tanh(pre[p + 2 * H + k] as number);
        const o = sigmoid(pre[p + 3 * H + k] as number);
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

  backward(cache: StepCache, dState: Float64Array, B: number, grads: CoreParams): Float64Array {
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
}
