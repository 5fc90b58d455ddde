/**
 * Gathers along axis 1 of a row-major [B, S, inner] array, done in JavaScript on host memory.
 * The wasm backend's GatherV2 kernel costs tens of nanoseconds per element (measured: 0.3 s for
 * the 5M-entry pixel gather of a 500-context chunk); typed-array copies of contiguous inner
 * blocks are an order of magnitude faster, and on wasm/cpu a tensor's data already lives in host
 * memory. Used by the feed-forward SparseNet, whose backward pass is written out by hand (no
 * autodiff through these copies).
 */
export class HostGather {
  readonly count: number;

  constructor(
    private readonly indices: Int32Array,
    readonly sourceSize: number,
    readonly inner: number,
  ) {
    this.count = indices.length;
    for (let k = 0; k < indices.length; k++) {
      const j = indices[k] as number;
      if (!(j >= 0 && j < sourceSize))
        throw new RangeError(`gather index ${j} at ${k} outside [0, ${sourceSize})`);
    }
  }

  /** src [B, S, inner] -> [B, K, inner] with out[b, k] = src[b, indices[k]]. */
  gather(src: Float32Array, batch: number): Float32Array {
    const { count: K, sourceSize: S, inner } = this;
    const out = new Float32Array(batch * K * inner);
    const idx = this.indices;
    if (inner === 1) {
      for (let b = 0; b < batch; b++) {
        const so = b * S;
        const oo = b * K;
        for (let k = 0; k < K; k++) out[oo + k] = src[so + (idx[k] as number)] as number;
      }
      return out;
    }
    for (let b = 0; b < batch; b++) {
      const so = b * S * inner;
      let o = b * K * inner;
      for (let k = 0; k < K; k++) {
        const s = so + (idx[k] as number) * inner;
        for (let j = 0; j < inner; j++) out[o + j] = src[s + j] as number;
        o += inner;
      }
    }
    return out;
  }

  /** The adjoint: src [B, K, inner] summed into [B, S, inner] at the gathered positions. */
  scatterAdd(src: Float32Array, batch: number): Float32Array {
    const { count: K, sourceSize: S, inner } = this;
    const out = new Float32Array(batch * S * inner);
    const idx = this.indices;
    for (let b = 0; b < batch; b++) {
      const oo = b * S * inner;
      let s = b * K * inner;
      for (let k = 0; k < K; k++) {
        const o = oo + (idx[k] as number) * inner;
        for (let j = 0; j < inner; j++) out[o + j] = (out[o + j] as number) + (src[s + j] as number);
        s += inner;
      }
    }
    return out;
  }
}

/**
 * Neuron-major gathers for the evaluation path: the output is [G, B, groupSize * inner] (group g's
 * rows for all samples contiguous), so that each neuron's input is one [B, groupSize * inner]
 * matrix a plain 2-D matMul can read. `indices` has G * groupSize entries, each naming an inner
 * block of the source. The source is either sample-major [B, S, inner] or neuron-major [S, B, inner].
 */
export function gatherNeuronMajor(
  src: Float32Array,
  indices: Int32Array,
  batch: number,
  sourceSize: number,
  inner: number,
  groupSize: number,
  sourceNeuronMajor: boolean,
): Float32Array {
  const groups = indices.length / groupSize;
  const row = groupSize * inner;
  const out = new Float32Array(groups * batch * row);
  for (let g = 0; g < groups; g++) {
    for (let j = 0; j < groupSize; j++) {
      const idx = indices[g * groupSize + j] as number;
      for (let b = 0; b < batch; b++) {
        const s = sourceNeuronMajor ? (idx * batch + b) * inner : (b * sourceSize + idx) * inner;
        const o = (g * batch + b) * row + j * inner;
        if (inner === 1) out[o] = src[s] as number;
        else for (let k = 0; k < inner; k++) out[o + k] = src[s + k] as number;
      }
    }
  }
  return out;
}
