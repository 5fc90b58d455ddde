// Float64 references shared by the core kernels' tests (not part of the kernels' API).

/** slot_backward of include/core.h in float64: the maps' and the routing scores' gradient for x. */
export function slotBackward(
  x: readonly number[],
  a: readonly number[],
  y: readonly number[],
  q: number,
  invSqrtD: number,
): number[] {
  const M = a.length;
  const f = new Array<number>(M * q + M).fill(0);
  const xy = a.map((_, m) => {
    let acc = 0;
    for (let j = 0; j < q; j++) {
      const yv = y[m * q + j] as number;
      acc += (x[j] as number) * yv;
      f[m * q + j] = (a[m] as number) * (x[j] as number) * (1 - yv * yv);
    }
    return acc;
  });
  const weighted = a.reduce((s, am, m) => s + am * (xy[m] as number), 0);
  for (let m = 0; m < M; m++) f[M * q + m] = (a[m] as number) * ((xy[m] as number) - weighted) * invSqrtD;
  return f;
}
