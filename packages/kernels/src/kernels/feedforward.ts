/**
 * Typed host wrappers of the feed-forward SparseNet's training kernels (feedforward.c, mixing.c,
 * thetaEstimator.c). Every kernel but ff_pack_wcat reads one block of 32-bit words in kernel
 * memory, sizes and flags first, then the byte addresses of the arrays it reads and writes
 * (include/feedforward.h); `writeFeedforwardBlock` fills it by name, so callers never index it.
 */
import { kernelRuntime } from "../runtime.js";

/** The word indices of the parameter block, in the order of enum FB_* in include/feedforward.h. */
export const FB = {
  N: 0,
  W: 1,
  M: 2,
  Q: 3,
  P: 4,
  D: 5,
  KP: 6,
  DP: 7,
  KPS: 8,
  RESIDUAL: 9,
  LAYER0: 10,
  WITH_SG: 11,
  XDIM: 12,
  MODE: 13,
  ADAPTIVE: 14,
  NEED_PARAMS: 15,
  NEED_DU: 16,
  SRC: 17,
  IDX: 18,
  WP: 19,
  B: 20,
  SGB: 21,
  WSG: 22,
  WCAT: 23,
  U: 24,
  ALPHA: 25,
  Y: 26,
  H: 27,
  TANH: 28,
  SGLIN: 29,
  SGPRED: 30,
  G: 31,
  DZ: 32,
  DW: 33,
  DB: 34,
  DU: 35,
  DHPREV: 36,
  GTRUE: 37,
  THETA: 38,
  MIXED: 39,
  SUMS: 40,
  THETA_BATCH: 41,
  FLOAT_ARG: 42,
  TARGET: 43,
  DSGA: 44,
  DSGB: 45,
  SGLOSS: 46,
  SCRATCH: 47,
  SCRATCH_FLOATS: 48,
  COUNT: 49,
} as const;

/** A word of the parameter block (sizes and flags as counts, arrays as byte addresses). */
export type FeedforwardWord = Exclude<keyof typeof FB, "COUNT">;
/** Named words of one call; words left out are not written. */
export type FeedforwardWords = Partial<Record<FeedforwardWord, number>>;

/** Writes `words` into the parameter block at float offset `prm` (FB.COUNT words). */
export function writeFeedforwardBlock(prm: number, words: FeedforwardWords): void {
  const ints = new Int32Array(kernelRuntime().buffer());
  for (const [k, v] of Object.entries(words)) ints[prm + FB[k as FeedforwardWord]] = v as number;
}

/**
 * A feed-forward kernel over [0, width) with the block at float offset `prm`; `work` (multiply-adds)
 * decides whether the helper thread joins.
 */
export type FeedforwardKernel = (prm: number, width: number, work: number) => void;

/** Forward pass of one layer; width = samples. */
export const ffForward: FeedforwardKernel = (prm, width, work) =>
  kernelRuntime().run("ff_forward", [4 * prm], width, work);
/** SG slot maps and prediction from the stored u and alpha; width = samples. */
export const ffSgRefresh: FeedforwardKernel = (prm, width, work) =>
  kernelRuntime().run("ff_sg_refresh", [4 * prm], width, work);
/** Backward pass through one layer; width = neurons. */
export const ffBackward: FeedforwardKernel = (prm, width, work) =>
  kernelRuntime().run("ff_backward", [4 * prm], width, work);
/** Gradient at the previous layer's output; width = samples. */
export const ffScatter: FeedforwardKernel = (prm, width, work) =>
  kernelRuntime().run("ff_scatter", [4 * prm], width, work);
/** SG-phase regression loss and gradients; width = neurons. */
export const ffSgGrad: FeedforwardKernel = (prm, width, work) =>
  kernelRuntime().run("ff_sg_grad", [4 * prm], width, work);
/** Gradient mixing (Definition 1) and, with ADAPTIVE, the eq. 3 estimate; width = neurons. */
export const ffMix: FeedforwardKernel = (prm, width, work) =>
  kernelRuntime().run("ff_mix", [4 * prm], width, work);

/** Arguments of ff_pack_wcat: float offsets of keys [W][M][D], A [W][M q][D] and the packed rows. */
export interface PackWcatArgs {
  readonly keys: number;
  readonly A: number;
  readonly dst: number;
  readonly width: number;
  readonly numSlots: number;
  /** M q */
  readonly slotEntries: number;
  /** D */
  readonly inputDim: number;
  /** Row stride of dst (>= D, a multiple of 12 for mv_rows). */
  readonly paddedDim: number;
}

/** Packs [keys; A] of every neuron for ff_backward's du. */
export function ffPackWcat(a: PackWcatArgs, work: number): void {
  kernelRuntime().run(
    "ff_pack_wcat",
    [4 * a.keys, 4 * a.A, 4 * a.dst, a.width, a.numSlots, a.slotEntries, a.inputDim, a.paddedDim],
    a.width,
    work,
  );
}
