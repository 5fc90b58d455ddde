/**
 * Discounted returns over a [T, B] rollout (row-major, t major), backwards with a running value per
 * environment: G <- r_t + gamma * G * (1 - done_t), then G <- G * valid_t. A done step's return is
 * its own reward; invalid steps get 0.
 */
export function discountedReturns(
  rewards: ArrayLike<number>,
  dones: ArrayLike<number>,
  valid: ArrayLike<number>,
  numSteps: number,
  numEnvs: number,
  gamma: number,
): Float64Array {
  const out = new Float64Array(numSteps * numEnvs);
  const running = new Float64Array(numEnvs);
  for (let t = numSteps - 1; t >= 0; t--) {
    for (let b = 0; b < numEnvs; b++) {
      const k = t * numEnvs + b;
      let g = (rewards[k] as number) + gamma * (running[b] as number) * (1 - (dones[k] as number));
      g *= valid[k] as number;
      running[b] = g;
      out[k] = g;
    }
  }
  return out;
}

/**
 * (G - mean) / (std + 1e-8) over the valid entries, population std; invalid entries become 0.
 * With no valid entry everything is 0.
 */
export function normalizeReturns(returns: ArrayLike<number>, valid: ArrayLike<number>): Float64Array {
  const out = new Float64Array(returns.length);
  let n = 0;
  let sum = 0;
  for (let k = 0; k < returns.length; k++) {
    if (valid[k]) {
      n++;
      sum += returns[k] as number;
    }
  }
  if (n === 0) return out;
  const mean = sum / n;
  let sq = 0;
  for (let k = 0; k < returns.length; k++) if (valid[k]) sq += ((returns[k] as number) - mean) ** 2;
  const std = Math.sqrt(sq / n);
  for (let k = 0; k < returns.length; k++) {
    out[k] = valid[k] ? ((returns[k] as number) - mean) / (std + 1e-8) : 0;
  }
  return out;
}

/** Value at fraction p (0..1) of the sorted values, linear interpolation (numpy's default). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = p * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const frac = pos - lo;
  return (sorted[lo] as number) * (1 - frac) + (sorted[hi] as number) * frac;
}
