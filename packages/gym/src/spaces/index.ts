export { arrayOf, Box, isIntegerDtype } from "./box.js";
export { Dict, type DictValue } from "./dict.js";
export { Discrete } from "./discrete.js";
export { flatdim, flatten, flattenInto, flattenSpace, unflatten } from "./flatten.js";
export { MultiBinary } from "./multi-binary.js";
export { MultiDiscrete } from "./multi-discrete.js";
export {
  type ArrayOf,
  type Dtype,
  type DtypeArrays,
  nextDefaultSeed,
  resetDefaultSeeds,
  Space,
  type SpaceValue,
} from "./space.js";
export { Tuple, type TupleValue } from "./tuple.js";
