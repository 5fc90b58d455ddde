import { totalmem } from "node:os";

/** One large allocation of a run and the option that sizes it most. */
export interface MemoryPart {
  readonly what: string;
  readonly bytes: number;
  readonly option: string;
  readonly value: unknown;
}

/**
 * The reason a run's largest buffers would not fit in half of the machine's memory, naming the
 * option, or undefined when they fit. Checked when options are resolved, before anything is
 * allocated: otherwise V8 dies out of memory, or a huge network builds for minutes.
 */
export function memoryBudgetProblem(
  parts: readonly MemoryPart[],
  available = totalmem(),
): string | undefined {
  const total = parts.reduce((s, p) => s + p.bytes, 0);
  if (total <= available / 2) return undefined;
  const big = parts.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const gb = (b: number) => (b / 2 ** 30).toPrecision(3);
  return `${big.option} = ${String(big.value)} needs about ${gb(total)} GB (${big.what}: ${gb(big.bytes)} GB), more than half of this machine's ${gb(available)} GB`;
}

const F32 = 4;
// Value, gradient, two Adam moments and one copy per parameter.
const PARAM_BYTES = 5 * F32;

/** POPGym: parameters and the per-(step, env) rollout and BPTT buffers (64 = padded obs width). */
export function popgymMemoryParts(o: {
  model: string;
  numEnvs: number;
  rolloutLength: number;
  width: number;
  neuronDim: number;
  numSlots: number;
  numParents: number;
  embedDim: number;
  hiddenSize: number;
}): MemoryPart[] {
  const rows = o.numEnvs * o.rolloutLength;
  let params: number;
  let row: number;
  if (o.model === "sparsenet") {
    const { width: W, neuronDim: q, numSlots: M, numParents: P } = o;
    const D = P * q + o.embedDim;
    params = W * M * D + 2 * W * M * (q * D + q);
    row = 2 * (W * P * q + W * M + W * M * q + W * q) + 64;
  } else {
    const H = o.hiddenSize;
    params = 4 * H * (o.embedDim + H + 2);
    row = 3 * (6 * H) + 64;
  }
  const manyEnvs = o.numEnvs / 20 >= o.rolloutLength / 80;
  const sizeOption = o.model === "sparsenet" ? "width" : "hiddenSize";
  const sizeValue = o.model === "sparsenet" ? o.width : o.hiddenSize;
  return [
    {
      what: "parameters and optimiser state",
      bytes: params * PARAM_BYTES,
      option: sizeOption,
      value: sizeValue,
    },
    {
      what: "rollout buffers",
      bytes: rows * row * F32,
      // Whichever is further above the paper's 20 envs and 80 steps.
      option: manyEnvs ? "numEnvs" : "rolloutLength",
      value: manyEnvs ? o.numEnvs : o.rolloutLength,
    },
  ];
}

/** Bandit: parameters, and the training and evaluation batches' contexts and activations. */
export function banditMemoryParts(o: {
  model: string;
  numLayers: number;
  width: number;
  neuronDim: number;
  numSlots: number;
  numParents: number;
  batchSize: number;
  evalBatchSize: number;
}): MemoryPart[] {
  const { numLayers: L, width: W, neuronDim: q, numSlots: M } = o;
  const nd = o.numParents * q;
  const sparse = o.model === "sparsenet";
  const params = sparse ? L * (W * M * nd + 2 * W * M * (q * nd + q)) : 784 * W + (L - 1) * W * W;
  const sample = (784 + (sparse ? L * W * (M * (q + 1) + q + nd) : 2 * L * W)) * F32;
  return [
    { what: "parameters and optimiser state", bytes: params * PARAM_BYTES, option: "width", value: W },
    { what: "training batch", bytes: 2 * o.batchSize * sample, option: "batchSize", value: o.batchSize },
    {
      what: "evaluation batch",
      bytes: o.evalBatchSize * sample,
      option: "evalBatchSize",
      value: o.evalBatchSize,
    },
  ];
}
