import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { type LabelledImages, labelledImages, type MnistDataset, mnistDataset } from "./dataset.js";
import { DatasetMismatchError, DatasetNotFoundError, IdxFormatError } from "./errors.js";

/** Element types of the IDX format (the third byte of the magic number). */
export type IdxDtype = "uint8" | "int8" | "int16" | "int32" | "float32" | "float64";

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** A parsed IDX file: an n-dimensional array in row-major order. */
export interface IdxArray {
  readonly dtype: IdxDtype;
  readonly shape: readonly number[];
  readonly data: IdxData;
}

const DTYPE_CODES: Record<IdxDtype, number> = {
  uint8: 0x08,
  int8: 0x09,
  int16: 0x0b,
  int32: 0x0c,
  float32: 0x0d,
  float64: 0x0e,
};
const DTYPE_BYTES: Record<IdxDtype, number> = {
  uint8: 1,
  int8: 1,
  int16: 2,
  int32: 4,
  float32: 4,
  float64: 8,
};

function dtypeOfCode(code: number): IdxDtype | undefined {
  for (const [dtype, c] of Object.entries(DTYPE_CODES)) if (c === code) return dtype as IdxDtype;
  return undefined;
}

function hex(bytes: Uint8Array, n: number): string {
  return `0x${Array.from(bytes.subarray(0, n), (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** True when the bytes start with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Parses an IDX file (LeCun's format used by MNIST, Fashion-MNIST, EMNIST); gzipped input is
 * decompressed first. `name` only labels error messages.
 */
export function parseIdx(input: Uint8Array, name = "<buffer>"): IdxArray {
  let bytes = input;
  if (isGzip(bytes)) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new IdxFormatError(name, `corrupt or truncated gzip stream (${(e as Error).message})`);
    }
  }
  if (bytes.length < 4) {
    throw new IdxFormatError(name, `truncated: ${bytes.length} bytes, shorter than the 4-byte magic number`);
  }
  const dtype = dtypeOfCode(bytes[2] as number);
  const ndim = bytes[3] as number;
  if (bytes[0] !== 0 || bytes[1] !== 0 || dtype === undefined || ndim === 0) {
    throw new IdxFormatError(
      name,
      `wrong magic number ${hex(bytes, 4)}; an IDX file starts with 0x0000, a type code ` +
        "(08 ubyte, 09 byte, 0b short, 0c int, 0d float, 0e double) and the number of dimensions (>= 1)",
    );
  }
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    throw new IdxFormatError(
      name,
      `truncated header: ${bytes.length} bytes, ${ndim} dimensions need ${headerBytes}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let size = 1;
  for (let d = 0; d < ndim; d++) {
    const n = view.getUint32(4 + 4 * d, false);
    shape.push(n);
    size *= n;
  }
  const width = DTYPE_BYTES[dtype];
  const expected = headerBytes + size * width;
  if (bytes.length < expected) {
    throw new IdxFormatError(
      name,
      `truncated: shape [${shape.join(", ")}] of ${dtype} needs ${expected} bytes, file has ${bytes.length}`,
    );
  }
  if (bytes.length > expected) {
    throw new IdxFormatError(
      name,
      `${bytes.length - expected} unexpected trailing bytes after shape [${shape.join(", ")}] of ${dtype}`,
    );
  }
  return { dtype, shape, data: decodeBody(view, headerBytes, size, dtype, bytes) };
}

function decodeBody(
  view: DataView,
  offset: number,
  size: number,
  dtype: IdxDtype,
  bytes: Uint8Array,
): IdxData {
  switch (dtype) {
    case "uint8":
      return bytes.subarray(offset, offset + size);
    case "int8":
      return new Int8Array(bytes.buffer, bytes.byteOffset + offset, size);
    case "int16": {
      const out = new Int16Array(size);
      for (let i = 0; i < size; i++) out[i] = view.getInt16(offset + 2 * i, false);
      return out;
    }
    case "int32": {
      const out = new Int32Array(size);
      for (let i = 0; i < size; i++) out[i] = view.getInt32(offset + 4 * i, false);
      return out;
    }
    case "float32": {
      const out = new Float32Array(size);
      for (let i = 0; i < size; i++) out[i] = view.getFloat32(offset + 4 * i, false);
      return out;
    }
    case "float64": {
      const out = new Float64Array(size);
      for (let i = 0; i < size; i++) out[i] = view.getFloat64(offset + 8 * i, false);
      return out;
    }
  }
}

/** Serialises an array to IDX bytes (big-endian, as the format requires). */
export function encodeIdx(array: IdxArray): Uint8Array {
  const { dtype, shape, data } = array;
  const size = shape.reduce((a, b) => a * b, 1);
  if (shape.length < 1 || shape.length > 255 || data.length !== size) {
    throw new RangeError(`encodeIdx: shape [${shape.join(", ")}] does not match ${data.length} elements`);
  }
  const headerBytes = 4 + 4 * shape.length;
  const width = DTYPE_BYTES[dtype];
  const bytes = new Uint8Array(headerBytes + size * width);
  const view = new DataView(bytes.buffer);
  bytes[2] = DTYPE_CODES[dtype];
  bytes[3] = shape.length;
  shape.forEach((n, d) => {
    view.setUint32(4 + 4 * d, n, false);
  });
  if (dtype === "uint8") {
    bytes.set(data, headerBytes);
    return bytes;
  }
  for (let i = 0; i < size; i++) {
    const v = data[i] as number;
    const at = headerBytes + i * width;
    if (dtype === "int8") view.setInt8(at, v);
    else if (dtype === "int16") view.setInt16(at, v, false);
    else if (dtype === "int32") view.setInt32(at, v, false);
    else if (dtype === "float32") view.setFloat32(at, v, false);
    else view.setFloat64(at, v, false);
  }
  return bytes;
}

/** Reads and parses one IDX file, plain or gzipped. */
export function readIdxFile(path: string): IdxArray {
  return parseIdx(readFileSync(path), path);
}

/** Builds a split from parsed image (uint8, [n, rows, cols]) and label (uint8, [n]) arrays. */
export function idxToLabelledImages(
  images: IdxArray,
  labels: IdxArray,
  imagesName: string,
  labelsName: string,
): LabelledImages {
  if (images.dtype !== "uint8" || images.shape.length !== 3) {
    throw new IdxFormatError(
      imagesName,
      `expected unsigned bytes of shape [n, rows, cols], got ${images.dtype} [${images.shape.join(", ")}]`,
    );
  }
  if (labels.dtype !== "uint8" || labels.shape.length !== 1) {
    throw new IdxFormatError(
      labelsName,
      `expected unsigned bytes of shape [n], got ${labels.dtype} [${labels.shape.join(", ")}]`,
    );
  }
  const [n, rows, cols] = images.shape as [number, number, number];
  if (n !== labels.shape[0]) {
    throw new DatasetMismatchError(
      `${imagesName} has ${n} images but ${labelsName} has ${labels.shape[0]} labels`,
    );
  }
  return labelledImages(images.data as Uint8Array, labels.data as Uint8Array, rows, cols, imagesName);
}

/** The standard file stems, as published by LeCun (MNIST) and Zalando (Fashion-MNIST). */
export const IDX_FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
} as const;

/** Candidate names for a stem: as published, gzipped, and the "train-images.idx3-ubyte" spelling. */
function candidates(stem: string): string[] {
  const dotted = stem.replace(/-(idx\d)-/, ".$1-");
  return [stem, `${stem}.gz`, dotted, `${dotted}.gz`];
}

/** The path of the IDX file for `stem` in `directory`, plain or gzipped; throws when absent. */
export function findIdxFile(directory: string, stem: string): string {
  const names = candidates(stem);
  for (const name of names) {
    const path = join(directory, name);
    if (existsSync(path)) return path;
  }
  throw new DatasetNotFoundError(directory, names);
}

/**
 * Loads MNIST (or any data set in the same layout, such as Fashion-MNIST) from the four standard
 * IDX files in `directory`; each may be gzipped. Train and test are the files' own splits.
 */
export function loadIdxDataset(directory: string): MnistDataset {
  const split = (imagesStem: string, labelsStem: string): LabelledImages => {
    const imagesPath = findIdxFile(directory, imagesStem);
    const labelsPath = findIdxFile(directory, labelsStem);
    return idxToLabelledImages(readIdxFile(imagesPath), readIdxFile(labelsPath), imagesPath, labelsPath);
  };
  const train = split(IDX_FILES.trainImages, IDX_FILES.trainLabels);
  const test = split(IDX_FILES.testImages, IDX_FILES.testLabels);
  return mnistDataset(directory, train, test);
}
