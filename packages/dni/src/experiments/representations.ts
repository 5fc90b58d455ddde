/**
 * The representation analysis of Czarnecki et al. 2017 (Figs. 7-8): for each layer of nets trained
 * by backprop, one SG, SG everywhere and DFA, the representational dissimilarity matrix (RDM,
 * 1 - Pearson correlation between the activations of label-sorted points), a linear classifier
 * probe (how linearly decodable the label is) and a linear input-regression probe (how much of the
 * input the layer still holds). Probes are ridge regressions solved in closed form in float64.
 */

/** A dense row-major matrix of `rows` points with `cols` features. */
export interface Features {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array | Float32Array;
}

/** RDM[i][j] = 1 - corr(row i, row j): 0 for identical patterns, 1 uncorrelated, 2 anti-correlated. */
export function rdm(f: Features): Float64Array {
  const { rows: m, cols: d, data } = f;
  const z = new Float64Array(m * d);
  for (let i = 0; i < m; i++) {
    let mean = 0;
    for (let j = 0; j < d; j++) mean += data[i * d + j] as number;
    mean /= d;
    let ss = 0;
    for (let j = 0; j < d; j++) {
      const v = (data[i * d + j] as number) - mean;
      z[i * d + j] = v;
      ss += v * v;
    }
    // A constant row (a dead layer) has no defined correlation; it is treated as uncorrelated.
    const norm = ss > 0 ? 1 / Math.sqrt(ss) : 0;
    for (let j = 0; j < d; j++) z[i * d + j] = (z[i * d + j] as number) * norm;
  }
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let k = i; k < m; k++) {
      let c = 0;
      for (let j = 0; j < d; j++) c += (z[i * d + j] as number) * (z[k * d + j] as number);
      out[i * m + k] = 1 - c;
      out[k * m + i] = 1 - c;
    }
  }
  return out;
}

/** Averages an [m, m] matrix over (m / size)-wide blocks into [size, size] (m a multiple of size). */
export function downsample(matrix: Float64Array, m: number, size: number): Float64Array {
  const f = m / size;
  const out = new Float64Array(size * size);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      const o = Math.floor(i / f) * size + Math.floor(j / f);
      out[o] = (out[o] as number) + (matrix[i * m + j] as number) / (f * f);
    }
  }
  return out;
}

/**
 * Ridge regression W = argmin ||[F, 1] W - T||^2 + lambda ||W||^2 (bias not penalised), solved by
 * Cholesky on the normal equations; returns a predictor for new features.
 */
export function ridge(f: Features, targets: Features, lambda: number): (g: Features) => Float64Array {
  const p = f.cols + 1;
  const t = targets.cols;
  const G = new Float64Array(p * p);
  const R = new Float64Array(p * t);
  const row = new Float64Array(p);
  for (let i = 0; i < f.rows; i++) {
    for (let a = 0; a < f.cols; a++) row[a] = f.data[i * f.cols + a] as number;
    row[f.cols] = 1;
    for (let a = 0; a < p; a++) {
      const ra = row[a] as number;
      if (ra === 0) continue;
      for (let b = a; b < p; b++) G[a * p + b] = (G[a * p + b] as number) + ra * (row[b] as number);
      for (let c = 0; c < t; c++)
        R[a * t + c] = (R[a * t + c] as number) + ra * (targets.data[i * t + c] as number);
    }
  }
  for (let a = 0; a < p; a++) {
    for (let b = 0; b < a; b++) G[a * p + b] = G[b * p + a] as number;
    if (a < f.cols) G[a * p + a] = (G[a * p + a] as number) + lambda;
  }
  // Cholesky G = L L^T (in place, lower triangle), then two triangular solves per target column.
  for (let j = 0; j < p; j++) {
    let s = G[j * p + j] as number;
    for (let k = 0; k < j; k++) s -= (G[j * p + k] as number) ** 2;
    const d = Math.sqrt(Math.max(s, 1e-12));
    G[j * p + j] = d;
    for (let i = j + 1; i < p; i++) {
      let v = G[i * p + j] as number;
      for (let k = 0; k < j; k++) v -= (G[i * p + k] as number) * (G[j * p + k] as number);
      G[i * p + j] = v / d;
    }
  }
  const W = new Float64Array(p * t);
  const col = new Float64Array(p);
  for (let c = 0; c < t; c++) {
    for (let i = 0; i < p; i++) {
      let v = R[i * t + c] as number;
      for (let k = 0; k < i; k++) v -= (G[i * p + k] as number) * (col[k] as number);
      col[i] = v / (G[i * p + i] as number);
    }
    for (let i = p - 1; i >= 0; i--) {
      let v = col[i] as number;
      for (let k = i + 1; k < p; k++) v -= (G[k * p + i] as number) * (col[k] as number);
      col[i] = v / (G[i * p + i] as number);
    }
    for (let i = 0; i < p; i++) W[i * t + c] = col[i] as number;
  }
  return (g) => {
    const out = new Float64Array(g.rows * t);
    for (let i = 0; i < g.rows; i++) {
      for (let c = 0; c < t; c++) {
        let v = W[f.cols * t + c] as number;
        for (let a = 0; a < g.cols; a++) v += (g.data[i * g.cols + a] as number) * (W[a * t + c] as number);
        out[i * t + c] = v;
      }
    }
    return out;
  };
}

/** Accuracy of a ridge classifier (one-hot targets) trained on (train, labels) and tested on test. */
export function classifierProbe(
  train: Features,
  trainLabels: readonly number[],
  test: Features,
  testLabels: readonly number[],
  classes: number,
  lambda = 1e-2,
): number {
  const oneHot = new Float64Array(train.rows * classes);
  trainLabels.forEach((l, i) => {
    oneHot[i * classes + l] = 1;
  });
  const predict = ridge(train, { rows: train.rows, cols: classes, data: oneHot }, lambda);
  const scores = predict(test);
  let correct = 0;
  for (let i = 0; i < test.rows; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++)
      if ((scores[i * classes + c] as number) > (scores[i * classes + best] as number)) best = c;
    if (best === testLabels[i]) correct++;
  }
  return correct / test.rows;
}

/** R^2 on test of a ridge regression from the layer's features back to the inputs. */
export function inputRegressionProbe(
  train: Features,
  trainInputs: Features,
  test: Features,
  testInputs: Features,
  lambda = 1e-2,
): number {
  const predict = ridge(train, trainInputs, lambda);
  const pred = predict(test);
  const d = testInputs.cols;
  const means = new Float64Array(d);
  for (let i = 0; i < testInputs.rows; i++)
    for (let j = 0; j < d; j++)
      means[j] = (means[j] as number) + (testInputs.data[i * d + j] as number) / testInputs.rows;
  let sse = 0;
  let sst = 0;
  for (let i = 0; i < testInputs.rows; i++) {
    for (let j = 0; j < d; j++) {
      const v = testInputs.data[i * d + j] as number;
      sse += (v - (pred[i * d + j] as number)) ** 2;
      sst += (v - (means[j] as number)) ** 2;
    }
  }
  return 1 - sse / sst;
}
