import { ARTIFICIAL_KINDS, type ArtificialKind, defaultPoints } from "../experiments/artificial.js";

/** One Table 2 unit: a data set of a cell. */
export interface Table2Unit {
  readonly k: number;
  readonly depth: "shallow" | "deep";
  readonly loss: "mse" | "logistic";
  readonly kind: ArtificialKind;
  readonly index: number;
  readonly n: number;
}

/** Which models of Table 2 a run trains: both, or only the shallow or only the deep ones. */
export type Table2Models = "both" | "shallow" | "deep";

/** Every unit of a Table 2 run, in the table's order: k, depth, loss, data kind, data set. */
export function table2Units(
  dims: readonly number[],
  datasets: number,
  models: Table2Models = "both",
): Table2Unit[] {
  const out: Table2Unit[] = [];
  const depths = models === "both" ? (["shallow", "deep"] as const) : ([models] as const);
  for (const k of dims) {
    for (const depth of depths) {
      for (const loss of ["mse", "logistic"] as const) {
        for (const kind of ARTIFICIAL_KINDS) {
          for (let index = 0; index < datasets; index++)
            out.push({ k, depth, loss, kind, index, n: defaultPoints(k) });
        }
      }
    }
  }
  return out;
}
