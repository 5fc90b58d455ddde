import { totalmem } from "node:os";
import { InvalidOptionError } from "../errors.js";
import type { TrainKind } from "./presets.js";
import { flagOf, type ParamValue } from "./schema.js";

type Resolved = Readonly<Record<string, ParamValue>>;

/** One part of a run's memory, with the settings that size it (named in the refusal). */
export interface MemoryTerm {
  readonly what: string;
  readonly bytes: number;
  readonly keys: readonly string[];
}

const F32 = 4;
// A parameter lives as the value, its gradient, Adam's two moments and a host or tfjs copy.
const BYTES_PER_PARAM = 5 * F32;
// The 3x3 view one-hot plus the previous action of the largest registered maze, rounded up.
const POPGYM_OBS = 64;
const POPGYM_ACTIONS = 4;
const MNIST_PIXELS = 784;

const num = (r: Resolved, key: string): number => Number(r[key] ?? 0);

function popgymTerms(r: Resolved): MemoryTerm[] {
  const B = num(r, "numEnvs");
  const T = num(r, "rolloutLength") || num(r, "episodeLength");
  const E1 = num(r, "embedHidden");
  const E = num(r, "embedDim");
  const embed = POPGYM_OBS * E1 + E1 * E + E1 + E;
  if (r.model === "sparsenet") {
    const W = num(r, "width");
    const q = num(r, "neuronDim");
    const M = num(r, "numSlots");
    const P = num(r, "numParents");
    const D = P * q + E;
    const Ma = num(r, "actorSlots");
    // keys, policy A and b, SG A and b, actor keys and maps.
    const params = embed + W * M * D + 2 * W * M * (q * D + q) + 2 * POPGYM_ACTIONS * Ma * W * q;
    // Forward trace kept for BPTT (parents' states, slot weights, slot outputs, state) and the
    // backward pass's buffers of the same size, per (step, env) row.
    const row = 2 * (W * P * q + W * M + W * M * q + W * q) + POPGYM_OBS;
    return [
      {
        what: "parameters and optimiser state",
        bytes: params * BYTES_PER_PARAM,
        keys: ["width", "numSlots", "neuronDim", "numParents", "embedDim"],
      },
      {
        what: "rollout buffers",
        bytes: B * T * row * F32,
        keys: ["numEnvs", "episodeLength", "rolloutLength", "width"],
      },
    ];
  }
  const H = num(r, "hiddenSize");
  const A = num(r, "actorHiddenSize");
  const gates = r.model === "lstm" ? 4 : 3;
  const params = embed + gates * H * (E + H + 2) + H * A + A * A + A * POPGYM_ACTIONS;
  // tfjs keeps every step's gate activations and states for the backward pass.
  const row = 3 * (gates * H + 2 * H + E1 + E) + POPGYM_OBS;
  return [
    {
      what: "parameters and optimiser state",
      bytes: params * BYTES_PER_PARAM,
      keys: ["hiddenSize", "actorHiddenSize", "embedDim", "embedHidden"],
    },
    {
      what: "rollout buffers",
      bytes: B * T * row * F32,
      keys: ["numEnvs", "episodeLength", "rolloutLength", "hiddenSize"],
    },
  ];
}

function banditTerms(r: Resolved): MemoryTerm[] {
  const L = num(r, "numLayers");
  const W = num(r, "width");
  const A = Array.isArray(r.classes) ? r.classes.length : 10;
  let params: number;
  let perSample: number;
  if (r.model === "sparsenet") {
    const q = num(r, "neuronDim");
    const M = num(r, "numSlots");
    const nd = num(r, "numParents") * q;
    params = L * (W * M * nd + 2 * W * M * (q * nd + q)) + A * W * q + A * W * q * A;
    perSample = L * W * (M * (q + 1) + q + nd);
  } else {
    params = MNIST_PIXELS * W + (L - 1) * W * W + L * W + W * A;
    perSample = 2 * L * W;
  }
  const sample = (perSample + MNIST_PIXELS) * F32;
  return [
    {
      what: "parameters and optimiser state",
      bytes: params * BYTES_PER_PARAM,
      keys: ["width", "numLayers", "numSlots", "neuronDim", "numParents"],
    },
    {
      what: "training batch",
      bytes: 2 * num(r, "batchSize") * sample,
      keys: ["batchSize", "width", "numLayers"],
    },
    {
      what: "evaluation batch",
      bytes: num(r, "evalBatchSize") * sample,
      keys: ["evalBatchSize", "width", "numLayers"],
    },
  ];
}

/** The dni MNIST net (float32): parameters with Adam's two moments, and one batch's activations. */
function dniTerms(r: Resolved): MemoryTerm[] {
  if (r.experiment !== "mnist" && r.experiment !== "representations") return [];
  const w = num(r, "width");
  const layers = num(r, "hiddenLayers");
  const params = 784 * w + (layers - 1) * w * w + w * 10;
  return [
    { what: "parameters and Adam moments", bytes: params * 4 * 3, keys: ["width", "hiddenLayers"] },
    {
      what: "activations of a batch",
      bytes: num(r, "batchSize") * w * layers * 4 * 4,
      keys: ["batchSize", "width"],
    },
  ];
}

/** Estimated memory of a run, by part: parameters, optimiser state, rollout or batch buffers. */
export function estimateMemory(kind: TrainKind, r: Resolved): MemoryTerm[] {
  if (kind === "dni") return dniTerms(r);
  return kind === "popgym" ? popgymTerms(r) : banditTerms(r);
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB", "PB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toPrecision(3)} ${units[i]}`;
}

/**
 * Refuses a configuration whose estimated memory exceeds half of the machine's RAM, before a byte
 * is allocated: V8 would otherwise die out of memory, or a huge network build for minutes. The
 * message names the flag of the largest part (the one furthest above the paper's scale).
 */
export function checkMemory(
  kind: TrainKind,
  r: Resolved,
  paperDefaults: Readonly<Record<string, ParamValue | undefined>>,
  available = totalmem(),
): void {
  const terms = estimateMemory(kind, r);
  const total = terms.reduce((s, t) => s + t.bytes, 0);
  if (total <= available / 2) return;
  const largest = terms.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const ratio = (key: string) => {
    const d = Number(paperDefaults[key] ?? 1) || 1;
    return num(r, key) / d;
  };
  const key = largest.keys.reduce((a, b) => (ratio(b) > ratio(a) ? b : a));
  throw new InvalidOptionError(
    flagOf(key),
    r[key],
    `a smaller value: the run would need about ${formatBytes(total)} of memory (${largest.what}: ${formatBytes(largest.bytes)}), more than half of this machine's ${formatBytes(available)}`,
  );
}
