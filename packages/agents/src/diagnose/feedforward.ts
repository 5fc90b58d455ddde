/**
 * The gradient diagnosis of the bandit's feed-forward SparseNet (issue 19): from a large pool of
 * fresh (context, action, reward) samples, the pool moments (poolMoments.ts) of every hidden
 * neuron's per-sample gradients (its own A, b and keys) for the three kinds of types.ts, in raw
 * and unit-normalised form.
 *
 * No per-sample gradient is ever formed. The induced parameter gradient is linear in the vector
 * the neuron receives, so
 * - the sum over a batch of each kind is one ordinary batch backward pass (the WebAssembly
 *   kernels) with the received vector swapped for that kind's;
 * - the per-sample inner products have the closed form of SPEC 4.5: for received vectors a, b at
 *   one neuron (after the residual factor 1 - tanh(out)^2), with t^a_s = alpha_s (1 - y_s^2) a and
 *   dq^a_s = alpha_s (<a, y_s> - sum_r alpha_r <a, y_r>) / sqrt(D),
 *     <x^a, x^b> = sum_s <t^a_s, t^b_s> (||u||^2 + 1) + dq^a_s dq^b_s ||u||^2,
 *   and sum_s <t^a_s, t^b_s> = sum_j a_j b_j c_j with c_j = sum_s alpha_s^2 (1 - y_sj^2)^2.
 *   The unit-normalised kinds divide a and b by their norms, so their products are these divided
 *   by ||a|| ||b||.
 * Units: the backward chains run in the trainer's own units, the gradient of its batch loss at
 * its batch size B (the SG predictors were fitted to targets in those units), and every
 * per-sample vector is then multiplied by B: the per-sample gradient of -r log pi, with the
 * synthetic part B s_n, so that the mean over a batch of n is the gradient a trainer with batch n
 * would apply.
 * Cost per sample: one forward pass, two backward chains and seven parameter-gradient passes per
 * layer (outer products, the bulk), plus O(M q) host work per neuron for the inner products.
 */
import type { Rng } from "@sgprop/gym";
import { sampleActions } from "../bandit/sampling.js";
import type { ContextualBandit } from "../bandit/types.js";
import type { FeedforwardSparseNet } from "../feedforward/sparsenet.js";
import { NativeFeedforward, type NativeLayerGrads } from "../feedforward/sparsenetKernels.js";
import { hostData } from "../kernels/hostMirror.js";
import type { SgMode } from "../sgprop/mixing.js";
import type { PoolMoments } from "./poolMoments.js";
import { DIAGNOSIS_KINDS, type DiagnosisMoments } from "./types.js";

export interface FeedforwardDiagnosisOptions {
  /** Draws the pool's contexts and reward flips; needs `sampleFrom` and `scoreFrom`. */
  readonly bandit: ContextualBandit;
  /** The diagnosis's own streams (streams.ts BANDIT_DIAGNOSE_STREAMS), never a run's. */
  readonly streams: { readonly contexts: Rng; readonly actions: Rng; readonly rewardNoise: Rng };
  /** Pool size N. */
  readonly pool: number;
  /** The live per-neuron theta of each hidden layer ([W] each). */
  readonly theta: readonly ArrayLike<number>[];
  readonly sgMode: SgMode;
  /** The trainer's batch size (reported with the moments). */
  readonly trainerBatch: number;
  /** Samples per kernel pass (memory: about 0.8 MB per sample for the paper's net). Default 256. */
  readonly chunk?: number;
  /** Called after each chunk. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Sees every drawn chunk (contexts [n, X], actions, rewards): for tests. */
  readonly onSamples?: (contexts: Float32Array, actions: Int32Array, rewards: Float32Array) => void;
}

const BACKPROP = 0;
const LIVE = 1;
const SYNTHETIC = 2;
const K = DIAGNOSIS_KINDS.length;

/** Running sums over the pool for one space: per kind, per unit, its sum vector [keys | A | b]. */
interface SpaceSums {
  readonly sums: Float64Array[];
  readonly sumInner: Float64Array;
}

function at(a: ArrayLike<number>, i: number): number {
  return a[i] as number;
}

/** Received vectors times the residual factor (where there is one) and the unit factor. */
function scaled(g: Float32Array, tanh: Float32Array | undefined, factor: number): Float64Array {
  const out = new Float64Array(g.length);
  for (let e = 0; e < g.length; e++) {
    const t = tanh === undefined ? 0 : at(tanh, e);
    out[e] = at(g, e) * factor * (tanh === undefined ? 1 : 1 - t * t);
  }
  return out;
}

/** Unit vectors per (sample, neuron) as eq. 3 normalises them (norm floored at 1e-12), float32. */
function unitVectors(v: Float64Array, q: number): { unit: Float32Array; inverseNorm: Float64Array } {
  const rows = v.length / q;
  const unit = new Float32Array(v.length);
  const inverseNorm = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < q; j++) s += at(v, r * q + j) ** 2;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    inverseNorm[r] = inv;
    for (let j = 0; j < q; j++) unit[r * q + j] = at(v, r * q + j) * inv;
  }
  return { unit, inverseNorm };
}

class FeedforwardPool {
  readonly engine: NativeFeedforward;
  readonly raw: SpaceSums;
  readonly normalised: SpaceSums;
  readonly units: number;
  readonly unitSize: number;
  private readonly nd: number;

  constructor(
    readonly net: FeedforwardSparseNet,
    readonly o: FeedforwardDiagnosisOptions,
  ) {
    const c = net.config;
    this.engine = new NativeFeedforward(c, net.connectivity.firstLayerInputIdx, net.connectivity.parentIdx);
    this.nd = net.nd;
    this.units = c.numLayers * c.width;
    this.unitSize = c.numSlots * this.nd + c.numSlots * c.neuronDim * (this.nd + 1);
    const space = (): SpaceSums => ({
      sums: Array.from({ length: K }, () => new Float64Array(this.units * this.unitSize)),
      sumInner: new Float64Array(K * K * this.units),
    });
    this.raw = space();
    this.normalised = space();
  }

  private param(name: string): Float32Array {
    const v = this.net.vars[name];
    if (v === undefined) throw new Error(`no parameter ${name}`);
    return hostData(v);
  }

  /** Adds a layer's batch-summed parameter gradients of one kind to its units' sum vectors. */
  private add(space: SpaceSums, kind: number, l: number, g: NativeLayerGrads): void {
    const { width: w, numSlots: m, neuronDim: q } = this.net.config;
    const nd = this.nd;
    // Raw: back from the trainer's batch-loss units to per-sample ones; normalised: unit-free.
    const f = space === this.raw ? this.o.trainerBatch : 1;
    const sums = space.sums[kind] as Float64Array;
    const parts: [Float32Array, number][] = [
      [g.keys, m * nd],
      [g.A, m * q * nd],
      [g.b, m * q],
    ];
    for (let i = 0; i < w; i++) {
      let o = (l * w + i) * this.unitSize;
      for (const [src, size] of parts) {
        const from = i * size;
        for (let d = 0; d < size; d++) sums[o + d] = at(sums, o + d) + f * at(src, from + d);
        o += size;
      }
    }
  }

  /** The top gradient of every sample of the chunk in the trainer's units: d(-r log pi / B)/dh_{L-1}. */
  private drawChunk(n: number): Float32Array {
    const { bandit, streams } = this.o;
    const c = this.net.config;
    const batch = bandit.createBatch(n);
    (bandit.sampleFrom as NonNullable<ContextualBandit["sampleFrom"]>)(batch, streams.contexts);
    this.engine.forward(batch.contexts, n, (name) => this.param(name), true);
    const h = this.engine.read(c.numLayers - 1, "h");
    const wq = c.width * c.neuronDim;
    const a = c.numActions;
    const keys = this.param("actionKeys");
    const scale = 1 / Math.sqrt(wq);
    const perBatch = 1 / this.o.trainerBatch;
    const probs = new Float32Array(n * a);
    const logits = new Float64Array(a);
    for (let s = 0; s < n; s++) {
      let max = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < a; k++) {
        let z = 0;
        for (let e = 0; e < wq; e++) z += at(h, s * wq + e) * at(keys, k * wq + e);
        logits[k] = z * scale;
        max = Math.max(max, z * scale);
      }
      let total = 0;
      for (let k = 0; k < a; k++) total += Math.exp(at(logits, k) - max);
      for (let k = 0; k < a; k++) probs[s * a + k] = Math.exp(at(logits, k) - max) / total;
    }
    const actions = sampleActions(probs, n, a, streams.actions);
    const rewards = (bandit.scoreFrom as NonNullable<ContextualBandit["scoreFrom"]>)(
      batch,
      actions,
      streams.rewardNoise,
    );
    this.o.onSamples?.(batch.contexts.slice(0, n * c.inputDim), actions, rewards);
    const dh = new Float32Array(n * wq);
    for (let s = 0; s < n; s++) {
      for (let k = 0; k < a; k++) {
        const dl =
          -at(rewards, s) * ((k === at(actions, s) ? 1 : 0) - at(probs, s * a + k)) * scale * perBatch;
        if (dl === 0) continue;
        for (let e = 0; e < wq; e++) dh[s * wq + e] = at(dh, s * wq + e) + dl * at(keys, k * wq + e);
      }
    }
    return dh;
  }

  /** Draws n samples and adds their moments. */
  chunk(n: number): void {
    const c = this.net.config;
    const engine = this.engine;
    const dh = this.drawChunk(n);
    const L = c.numLayers;
    const tanhOf = (l: number) => (c.residual && l > 0 ? engine.read(l, "tanh") : undefined);
    // The true gradient: theta = 1 everywhere in the backward pass.
    const trueGrads: Float32Array[] = new Array(L);
    let b: 0 | 1 = engine.setTopGradient(dh);
    for (let l = L - 1; l >= 0; l--) {
      const g = engine.gradient(b);
      trueGrads[l] = g;
      const r = engine.backward(l, b, true);
      this.add(this.raw, BACKPROP, l, r.grads as NativeLayerGrads);
      engine.setGradient(b, unitVectors(scaled(g, tanhOf(l), 1), c.neuronDim).unit);
      this.add(this.normalised, BACKPROP, l, engine.paramGradients(l, b, false));
      if (r.next !== undefined) b = r.next;
    }
    // The trainer's live pass: mixed at every layer with the live theta.
    const zeros = new Float32Array(c.width);
    const mode = this.o.sgMode === "prediction" ? 0 : 1;
    b = engine.setTopGradient(dh);
    for (let l = L - 1; l >= 0; l--) {
      const tanh = tanhOf(l);
      const live = engine.gradient(b);
      this.add(this.raw, LIVE, l, engine.paramGradients(l, b, true));
      engine.mix(l, b, zeros, mode, false, 0);
      const syn = engine.mixed();
      this.add(this.raw, SYNTHETIC, l, engine.paramGradients(l, "mixed", true));
      const other: 0 | 1 = b === 0 ? 1 : 0;
      const perSample = this.o.trainerBatch;
      const received = [trueGrads[l] as Float32Array, live, syn].map((v) => scaled(v, tanh, perSample));
      const units = received.map((v) => unitVectors(v, c.neuronDim));
      engine.setGradient(other, (units[LIVE] as { unit: Float32Array }).unit);
      this.add(this.normalised, LIVE, l, engine.paramGradients(l, other, false));
      engine.setGradient(other, (units[SYNTHETIC] as { unit: Float32Array }).unit);
      this.add(this.normalised, SYNTHETIC, l, engine.paramGradients(l, other, false));
      this.innerProducts(
        l,
        n,
        received,
        units.map((x) => x.inverseNorm),
      );
      if (l > 0) {
        engine.mix(l, b, Float32Array.from(this.o.theta[l] as ArrayLike<number>), mode, false, 0);
        b = engine.backward(l, "mixed", false).next as 0 | 1;
      }
    }
  }

  /** Adds sum_n <x^a_n, x^b_n> of layer l's neurons in both spaces (the closed form above). */
  private innerProducts(l: number, n: number, received: Float64Array[], inverseNorm: Float64Array[]): void {
    const { width: w, numSlots: m, neuronDim: q } = this.net.config;
    const nd = this.nd;
    const u = this.engine.read(l, "u");
    const alpha = this.engine.read(l, "alpha");
    const y = this.engine.read(l, "y");
    const invSqrtD = 1 / Math.sqrt(nd);
    const cj = new Float64Array(q);
    const dq = new Float64Array(K * m);
    const e = new Float64Array(m);
    const units = this.units;
    const rawInner = this.raw.sumInner;
    const normInner = this.normalised.sumInner;
    for (let s = 0; s < n; s++) {
      for (let i = 0; i < w; i++) {
        const ni = s * w + i;
        let uu = 0;
        for (let d = 0; d < nd; d++) uu += at(u, ni * nd + d) ** 2;
        cj.fill(0);
        for (let sl = 0; sl < m; sl++) {
          const a2 = at(alpha, ni * m + sl) ** 2;
          for (let j = 0; j < q; j++) cj[j] = at(cj, j) + a2 * (1 - at(y, (ni * m + sl) * q + j) ** 2) ** 2;
        }
        for (let k = 0; k < K; k++) {
          const v = received[k] as Float64Array;
          let mean = 0;
          for (let sl = 0; sl < m; sl++) {
            let dot = 0;
            for (let j = 0; j < q; j++) dot += at(v, ni * q + j) * at(y, (ni * m + sl) * q + j);
            e[sl] = dot;
            mean += at(alpha, ni * m + sl) * dot;
          }
          for (let sl = 0; sl < m; sl++)
            dq[k * m + sl] = at(alpha, ni * m + sl) * (at(e, sl) - mean) * invSqrtD;
        }
        const unit = l * w + i;
        for (let a = 0; a < K; a++) {
          const va = received[a] as Float64Array;
          for (let b = a; b < K; b++) {
            const vb = received[b] as Float64Array;
            let t = 0;
            for (let j = 0; j < q; j++) t += at(va, ni * q + j) * at(vb, ni * q + j) * at(cj, j);
            let kq = 0;
            for (let sl = 0; sl < m; sl++) kq += at(dq, a * m + sl) * at(dq, b * m + sl);
            const raw = t * (uu + 1) + kq * uu;
            const norm =
              raw * at(inverseNorm[a] as Float64Array, ni) * at(inverseNorm[b] as Float64Array, ni);
            const at1 = (a * K + b) * units + unit;
            const at2 = (b * K + a) * units + unit;
            rawInner[at1] = at(rawInner, at1) + raw;
            normInner[at1] = at(normInner, at1) + norm;
            if (a !== b) {
              rawInner[at2] = at(rawInner, at2) + raw;
              normInner[at2] = at(normInner, at2) + norm;
            }
          }
        }
      }
    }
  }

  moments(space: SpaceSums, samples: number): PoolMoments {
    const units = this.units;
    const size = this.unitSize;
    const innerOfSums = new Float64Array(K * K * units);
    for (let a = 0; a < K; a++) {
      for (let b = a; b < K; b++) {
        const sa = space.sums[a] as Float64Array;
        const sb = space.sums[b] as Float64Array;
        for (let i = 0; i < units; i++) {
          let dot = 0;
          for (let d = i * size; d < (i + 1) * size; d++) dot += at(sa, d) * at(sb, d);
          innerOfSums[(a * K + b) * units + i] = dot;
          innerOfSums[(b * K + a) * units + i] = dot;
        }
      }
    }
    return { kinds: [...DIAGNOSIS_KINDS], samples, units, sumInner: space.sumInner, innerOfSums };
  }
}

/**
 * Pool moments of a feed-forward SparseNet's per-neuron gradients (one unit per hidden neuron,
 * layers = the hidden layers) on `pool` fresh samples of the bandit, with the live theta.
 */
export function feedforwardDiagnosisMoments(
  net: FeedforwardSparseNet,
  o: FeedforwardDiagnosisOptions,
): DiagnosisMoments {
  if (o.bandit.sampleFrom === undefined || o.bandit.scoreFrom === undefined) {
    throw new Error("the diagnosis needs a bandit with sampleFrom and scoreFrom (MnistBandit has them)");
  }
  if (!Number.isInteger(o.pool) || o.pool < 2)
    throw new RangeError(`pool must be an integer >= 2, got ${o.pool}`);
  const c = net.config;
  if (o.theta.length !== c.numLayers || o.theta.some((t) => t.length !== c.width)) {
    throw new RangeError(`theta must hold ${c.numLayers} layers of ${c.width} values`);
  }
  const chunk = o.chunk ?? 256;
  const pool = new FeedforwardPool(net, o);
  try {
    for (let done = 0; done < o.pool; ) {
      const n = Math.min(chunk, o.pool - done);
      pool.chunk(n);
      done += n;
      o.onProgress?.(done, o.pool);
    }
  } finally {
    pool.engine.dispose();
  }
  const liveTheta = new Float64Array(pool.units);
  o.theta.forEach((t, l) => {
    for (let i = 0; i < c.width; i++) liveTheta[l * c.width + i] = at(t, i);
  });
  const synthetic = liveTheta.map((t) => 1 - t);
  return {
    raw: pool.moments(pool.raw, o.pool),
    normalised: pool.moments(pool.normalised, o.pool),
    layers: Array.from({ length: c.numLayers }, (_, l) => ({
      name: `layer ${l}`,
      from: l * c.width,
      to: (l + 1) * c.width,
    })),
    liveTheta,
    current: [0, liveTheta, synthetic],
    trainerBatch: o.trainerBatch,
    sampleDescription: "one context, its action sampled from the policy, and its noisy reward",
  };
}
