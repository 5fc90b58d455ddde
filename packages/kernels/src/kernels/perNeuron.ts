/**
 * Per-neuron contractions and the fused evaluation forward pass of the feed-forward SparseNet on
 * the WebAssembly SIMD kernels (kernels/perNeuron.c), for host Float32Arrays: inputs are copied
 * into the kernels' memory, the neurons or samples are split between two threads (runtime.ts),
 * and results are copied out.
 */
import { transientLayout as layout, kernelRuntime as rt } from "../runtime.js";

/** What {@link pnPack} copies: per-neuron blocks of `rows` x `depth` floats into a padded layout. */
export interface PackArgs {
  /** Float offset of the source, [W, rows, depth] (or [W, depth, rows] when not `transposed`). */
  readonly src: number;
  /** Float offset of the destination, [W, depth, rowStride]. */
  readonly dst: number;
  readonly width: number;
  readonly depth: number;
  readonly rows: number;
  /** Floats per destination row (padded for the matvec kernels' column blocks). */
  readonly rowStride: number;
  /** First destination column written. */
  readonly rowOffset: number;
  readonly transposed: boolean;
}

/**
 * pn_pack: dst[i][d][rowOffset + k] = src[i][k][d] (transposed) or src[i][d][k], for the neurons
 * i < width; the packed layout is the one pn_matvec and ff_forward read. `work` decides whether the
 * helper thread takes part (see runtime.ts).
 */
export function pnPack(a: PackArgs, work = a.width * a.depth * a.rows): void {
  rt().run(
    "pn_pack",
    [4 * a.src, 4 * a.dst, a.width, a.depth, a.rows, a.rowStride, a.rowOffset, a.transposed ? 1 : 0],
    a.width,
    work,
  );
}

/** A per-neuron weight for {@link simdMatVecs}: [W, D, K], or [W, K, D] when `transposed`. */
export interface SimdWeight {
  readonly data: Float32Array;
  readonly k: number;
  readonly transposed: boolean;
}

/**
 * z_j[n, i, k] = sum_d u[n, i, d] w_j[i, d, k] for every weight j: u is [N, W, D] (row-major),
 * results are [N, W, K_j].
 */
export function simdMatVecs(
  u: Float32Array,
  n: number,
  width: number,
  d: number,
  weights: readonly SimdWeight[],
): Float32Array[] {
  const r = rt();
  const kps = weights.map((w) => Math.ceil(w.k / 12) * 12);
  const sizes = [u.length, ...weights.map((w) => w.data.length)];
  sizes.push(...kps.map((kp) => width * d * kp), ...weights.map((w) => n * width * w.k));
  const { offsets, total } = layout(sizes);
  const heap = r.heap(total);
  const nw = weights.length;
  heap.set(u, offsets[0] as number);
  const out: Float32Array[] = [];
  weights.forEach((w, j) => {
    const raw = offsets[1 + j] as number;
    const packed = offsets[1 + nw + j] as number;
    const z = offsets[1 + 2 * nw + j] as number;
    const kp = kps[j] as number;
    heap.set(w.data, raw);
    r.run(
      "pn_pack",
      [raw * 4, packed * 4, width, d, w.k, kp, 0, w.transposed ? 1 : 0],
      width,
      width * d * w.k,
    );
    r.run(
      "pn_matvec",
      [(offsets[0] as number) * 4, packed * 4, z * 4, n, width, d, w.k, kp],
      width,
      n * width * d * w.k,
    );
    out.push(r.heap(total).slice(z, z + n * width * w.k));
  });
  return out;
}

/** o[i, k, d] = sum_n a[n, i, k] u[n, i, d]: a [N, W, K], u [N, W, D] -> [W, K, D]. */
export function simdOuter(
  a: Float32Array,
  u: Float32Array,
  n: number,
  width: number,
  k: number,
  d: number,
): Float32Array {
  const r = rt();
  const { offsets, total } = layout([a.length, u.length, width * k * d]);
  const [ao, uo, oo] = offsets as [number, number, number];
  const heap = r.heap(total);
  heap.set(a, ao);
  heap.set(u, uo);
  r.run("pn_outer", [ao * 4, uo * 4, oo * 4, n, width, k, d], width, n * width * k * d);
  return r.heap(total).slice(oo, oo + width * k * d);
}

/** What {@link simdForwardHidden} needs of a feed-forward SparseNet (SPEC 4.2), as host arrays. */
export interface SimdForwardNet {
  readonly inputDim: number;
  readonly numLayers: number;
  readonly width: number;
  readonly neuronDim: number;
  readonly numSlots: number;
  readonly numParents: number;
  readonly residual: boolean;
  /** [W, nd] pixel indices of layer 0. */
  readonly firstLayerInputIdx: Int32Array;
  /** [L-1, W, P] parents. */
  readonly parentIdx: Int32Array;
  /** Per layer: keys [W, M, nd], slot maps [W, M q, nd], slot biases [W, M q]. */
  readonly keys: readonly Float32Array[];
  readonly maps: readonly Float32Array[];
  readonly biases: readonly Float32Array[];
}

// Word indices of pn_forward's parameter block (kernels/perNeuron.c).
const F_FIELDS = 16;

/**
 * The last hidden layer h_{L-1} [N, W q] for contexts x [N, X], in one fused kernel per sample
 * range (gather, contraction, routing softmax, tanh, slot mixture and residual never leave the
 * cache). Same mathematics as the tfjs forward pass; values agree to float32 rounding (tested).
 */
export function simdForwardHidden(net: SimdForwardNet, x: Float32Array, n: number): Float32Array {
  const { width: w, numSlots: m, neuronDim: q, numParents: p, numLayers: L } = net;
  const nd = p * q;
  const ka = Math.ceil(m / 4) * 4;
  const kp = Math.ceil((ka + m * q) / 12) * 12;
  const scratchFloats = 4 * (nd + 12) + 4 * kp + 4 * (q + 4) + 16;
  const sizes = [
    F_FIELDS + 2 * L,
    x.length,
    n * w * q,
    n * w * q,
    net.firstLayerInputIdx.length,
    Math.max(1, net.parentIdx.length),
    2 * scratchFloats,
  ];
  for (let l = 0; l < L; l++) sizes.push(net.keys[l]?.length ?? 0, net.maps[l]?.length ?? 0);
  for (let l = 0; l < L; l++) sizes.push(w * nd * kp, m * q * w);
  const r = rt();
  const { offsets, total } = layout(sizes);
  const heap = r.heap(total);
  const ints = new Int32Array(heap.buffer);
  const at = (j: number): number => offsets[j] as number;
  const [prm, xo, hout, htmp, firstO, parentO, scratch] = offsets as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  heap.set(x, xo);
  ints.set(net.firstLayerInputIdx, firstO);
  ints.set(net.parentIdx, parentO);
  const scale = 1 / Math.sqrt(nd);
  for (let l = 0; l < L; l++) {
    const keysO = at(7 + 2 * l);
    const mapsO = at(8 + 2 * l);
    const packed = at(7 + 2 * L + 2 * l);
    const biasO = at(8 + 2 * L + 2 * l);
    const keys = net.keys[l] as Float32Array;
    for (let j = 0; j < keys.length; j++) heap[keysO + j] = (keys[j] as number) * scale;
    heap.set(net.maps[l] as Float32Array, mapsO);
    heap.set(net.biases[l] as Float32Array, biasO);
    pnPack({
      src: keysO,
      dst: packed,
      width: w,
      depth: nd,
      rows: m,
      rowStride: kp,
      rowOffset: 0,
      transposed: true,
    });
    pnPack({
      src: mapsO,
      dst: packed,
      width: w,
      depth: nd,
      rows: m * q,
      rowStride: kp,
      rowOffset: ka,
      transposed: true,
    });
    ints[prm + F_FIELDS + l] = packed * 4;
    ints[prm + F_FIELDS + L + l] = biasO * 4;
  }
  ints.set(
    [
      w,
      m,
      q,
      p,
      nd,
      L,
      net.inputDim,
      net.residual ? 1 : 0,
      kp,
      xo * 4,
      hout * 4,
      htmp * 4,
      firstO * 4,
      parentO * 4,
      scratch * 4,
      scratchFloats,
    ],
    prm,
  );
  r.run("pn_forward", [prm * 4], n, n * L * w * nd * kp);
  return r.heap(total).slice(hout, hout + n * w * q);
}

/** Dense weight gradient o[k, d] = sum_n a[n, k] u[n, d]: a [N, K], u [N, D] -> [K, D] (rows split over threads). */
export function simdDenseOuter(
  a: Float32Array,
  u: Float32Array,
  n: number,
  k: number,
  d: number,
): Float32Array {
  const r = rt();
  const { offsets, total } = layout([a.length, u.length, k * d]);
  const [ao, uo, oo] = offsets as [number, number, number];
  const heap = r.heap(total);
  heap.set(a, ao);
  heap.set(u, uo);
  r.run("pn_dense_outer", [4 * ao, 4 * uo, 4 * oo, n, k, d], k, n * k * d);
  return r.heap(total).slice(oo, oo + k * d);
}

/** Dense product z = u w: u [N, D], w [D, K] -> [N, K] (samples split over threads). */
export function simdDenseMatVec(
  u: Float32Array,
  w: Float32Array,
  n: number,
  d: number,
  k: number,
): Float32Array {
  const r = rt();
  const { offsets, total } = layout([u.length, w.length + 16, n * k]);
  const [uo, wo, zo] = offsets as [number, number, number];
  const heap = r.heap(total);
  heap.set(u, uo);
  heap.set(w, wo);
  r.run("pn_dense_mv", [4 * uo, 4 * wo, 4 * zo, n, d, k], n, n * k * d);
  return r.heap(total).slice(zo, zo + n * k);
}

/**
 * A dense tanh layer a = tanh(u W^T + b): u [N, D], W [K, D] (PyTorch layout), b [K] -> [N, K].
 * W is transposed once per call on the kernels (rows split over threads), then the samples are.
 */
export function simdDenseTanh(
  u: Float32Array,
  w: Float32Array,
  b: Float32Array,
  n: number,
  d: number,
  k: number,
): Float32Array {
  const r = rt();
  const { offsets, total } = layout([u.length, w.length, w.length + 16, k, n * k]);
  const [uo, wo, to, bo, ao] = offsets as [number, number, number, number, number];
  const heap = r.heap(total);
  heap.set(u, uo);
  heap.set(w, wo);
  heap.set(b, bo);
  r.run("pn_dense_transpose", [4 * wo, 4 * to, k, d], d, k * d * 4);
  r.run("pn_dense_tanh", [4 * uo, 4 * to, 4 * bo, 4 * ao, n, d, k], n, n * k * d);
  return r.heap(total).slice(ao, ao + n * k);
}
