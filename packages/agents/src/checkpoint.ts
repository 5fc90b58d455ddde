import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { NonFiniteError } from "./trainer.js";

/** Element types stored in our safetensors files. */
export type SafetensorsDtype = "F32" | "F64" | "I32";

/** One named tensor as plain data (row-major). */
export interface NamedTensorData {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly data: Float32Array | Float64Array | Int32Array;
}

/** A safetensors file or a checkpoint folder could not be read. */
export class CheckpointFormatError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`bad checkpoint ${path}: ${reason}`);
    this.name = "CheckpointFormatError";
  }
}

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F64: 8, I32: 4 };

function checkData(name: string, t: NamedTensorData): void {
  const size = t.shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== size) {
    throw new RangeError(`tensor "${name}" has ${t.data.length} values for shape [${t.shape}]`);
  }
  const ok =
    (t.dtype === "F32" && t.data instanceof Float32Array) ||
    (t.dtype === "F64" && t.data instanceof Float64Array) ||
    (t.dtype === "I32" && t.data instanceof Int32Array);
  if (!ok) throw new TypeError(`tensor "${name}" declares ${t.dtype} but holds ${t.data.constructor.name}`);
}

/**
 * Serialises tensors in the safetensors format (https://github.com/huggingface/safetensors): an
 * 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}} with an
 * optional "__metadata__" map of strings, then the raw little-endian data. Tensors are written in
 * sorted name order so identical states give identical bytes.
 */
export function encodeSafetensors(
  tensors: Readonly<Record<string, NamedTensorData>>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name] as NamedTensorData;
    checkData(name, t);
    const bytes = t.data.length * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // The data section starts 8-byte aligned (the reference implementation pads with spaces).
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += " ";
  const headerBytes = Buffer.from(json, "utf8");
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors[name] as NamedTensorData;
    const src = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(src, pos); // typed arrays are little-endian on every platform Node supports
    pos += src.length;
  }
  return out;
}

/** Parses a safetensors buffer (F32, F64, I32 tensors) into named tensors and metadata. */
export function decodeSafetensors(
  bytes: Uint8Array,
  source = "<buffer>",
): { tensors: Record<string, NamedTensorData>; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new CheckpointFormatError(source, "shorter than 8 bytes");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (8 + headerLen > bytes.length)
    throw new CheckpointFormatError(source, `header length ${headerLen} exceeds file`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLen)).toString("utf8")) as Record<
      string,
      unknown
    >;
  } catch (e) {
    throw new CheckpointFormatError(source, `header is not JSON (${(e as Error).message})`);
  }
  const base = 8 + headerLen;
  const tensors: Record<string, NamedTensorData> = {};
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (!(e.dtype in BYTES))
      throw new CheckpointFormatError(source, `tensor "${name}" has unsupported dtype ${e.dtype}`);
    const dtype = e.dtype as SafetensorsDtype;
    const [begin, end] = e.data_offsets;
    if (base + end > bytes.length || begin > end) {
      throw new CheckpointFormatError(source, `tensor "${name}" offsets [${begin}, ${end}] exceed the file`);
    }
    // Buffer.slice returns a view into a pooled buffer; copy into a fresh, aligned array.
    const copy = new Uint8Array(bytes.subarray(base + begin, base + end));
    const data =
      dtype === "F32"
        ? new Float32Array(copy.buffer, 0, copy.length / 4)
        : dtype === "F64"
          ? new Float64Array(copy.buffer, 0, copy.length / 8)
          : new Int32Array(copy.buffer, 0, copy.length / 4);
    const t: NamedTensorData = { dtype, shape: e.shape, data };
    checkData(name, t);
    tensors[name] = t;
  }
  return { tensors, metadata };
}

/** File names inside a checkpoint folder. */
export const CHECKPOINT_TENSORS_FILE = "tensors.safetensors";
export const CHECKPOINT_META_FILE = "checkpoint.json";

/**
 * Writes a checkpoint folder atomically: `tensors.safetensors` (every tensor by canonical name) and
 * `checkpoint.json` (the JSON-able metadata: options, counters, RNG states) go into a temporary
 * sibling folder, which then replaces `dir` by rename. A crash leaves either the old or the new
 * checkpoint, never a mixture.
 */
export async function writeCheckpointDir(
  dir: string,
  tensors: Readonly<Record<string, NamedTensorData>>,
  meta: unknown,
): Promise<void> {
  // A checkpoint is the state a run resumes from: one holding NaN or Inf would fail forever.
  const step = (meta as { completed?: unknown } | null)?.completed;
  assertFiniteTensors(tensors, typeof step === "number" ? step : -1);
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  const old = `${dir}.old-${process.pid}-${Date.now()}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await writeFile(
    join(tmp, CHECKPOINT_TENSORS_FILE),
    encodeSafetensors(tensors, { format: "sgprop-checkpoint/1" }),
  );
  await writeFile(join(tmp, CHECKPOINT_META_FILE), `${JSON.stringify(meta, null, 2)}\n`);
  let hadOld = false;
  try {
    await rename(dir, old);
    hadOld = true;
  } catch {
    // no previous checkpoint
  }
  await rename(tmp, dir);
  if (hadOld) await rm(old, { recursive: true, force: true });
}

/** Throws {@link NonFiniteError} naming the first tensor (sorted by name) with a NaN or Inf. */
export function assertFiniteTensors(tensors: Readonly<Record<string, NamedTensorData>>, step: number): void {
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name] as NamedTensorData;
    if (t.dtype === "I32") continue;
    const data = t.data;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i] as number))
        throw new NonFiniteError(step, `${name}[${i}] (checkpoint refused)`);
    }
  }
}

/** Reads a folder written by {@link writeCheckpointDir}. */
export async function readCheckpointDir(
  dir: string,
): Promise<{ tensors: Record<string, NamedTensorData>; meta: unknown }> {
  const path = join(dir, CHECKPOINT_TENSORS_FILE);
  let bytes: Uint8Array;
  let metaText: string;
  try {
    bytes = await readFile(path);
    metaText = await readFile(join(dir, CHECKPOINT_META_FILE), "utf8");
  } catch (e) {
    throw new CheckpointFormatError(dir, (e as Error).message);
  }
  const { tensors } = decodeSafetensors(bytes, path);
  return { tensors, meta: JSON.parse(metaText) as unknown };
}
