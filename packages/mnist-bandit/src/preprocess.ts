import { ClassSubsetError } from "./errors.js";

/** MNIST training-set pixel mean and std (of values in [0, 1]), as in the paper's code. */
export const PIXEL_MEAN = 0.1307;
export const PIXEL_STD = 0.3081;

/**
 * Standardised value of each grey level: (byte / 255 - 0.1307) / 0.3081, computed in float64
 * and rounded once to float32. Converting through this table is as fast as a copy and lets the
 * raw bytes stay the only stored form (a quarter of the memory of float images).
 */
export const STANDARDIZED_PIXEL: Float32Array = Float32Array.from(
  { length: 256 },
  (_, b) => (b / 255 - PIXEL_MEAN) / PIXEL_STD,
);

/** Smallest and largest standardised value (grey levels 0 and 255): the observation bounds. */
export const STANDARDIZED_MIN = STANDARDIZED_PIXEL[0] as number;
export const STANDARDIZED_MAX = STANDARDIZED_PIXEL[255] as number;

/** Standardises raw bytes into `out` (allocated when omitted), element by element. */
export function standardize(bytes: ArrayLike<number>, out = new Float32Array(bytes.length)): Float32Array {
  if (out.length < bytes.length) {
    throw new RangeError(`standardize: output holds ${out.length} values, input has ${bytes.length}`);
  }
  for (let i = 0; i < bytes.length; i++) out[i] = STANDARDIZED_PIXEL[bytes[i] as number] as number;
  return out;
}

/** The paper's code leaves out the digit 2: nine actions. */
export const DEFAULT_CLASSES: readonly number[] = Object.freeze([0, 1, 3, 4, 5, 6, 7, 8, 9]);

/**
 * A validated class subset: action `a` means class `classes[a]`, so actions follow the order the
 * caller gave. `actionOfClass[c]` is the action of class c, or -1 when c is not in the subset.
 */
export interface ClassSubset {
  readonly classes: readonly number[];
  readonly actionOfClass: Int16Array;
}

export function classSubset(classes: readonly number[], numClasses: number): ClassSubset {
  if (!Array.isArray(classes) || classes.length === 0) {
    throw new ClassSubsetError(
      Array.isArray(classes) ? classes : [classes],
      "it must name at least one class",
    );
  }
  const actionOfClass = new Int16Array(numClasses).fill(-1);
  classes.forEach((c, a) => {
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) {
      throw new ClassSubsetError(
        classes,
        `unknown class ${String(c)}; the data has classes 0..${numClasses - 1}`,
      );
    }
    if (actionOfClass[c] !== -1) {
      throw new ClassSubsetError(classes, `class ${c} appears more than once`);
    }
    actionOfClass[c] = a;
  });
  return { classes: Object.freeze([...classes]), actionOfClass };
}
