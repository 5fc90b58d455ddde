/**
 * Backpropagation through time of the GRU/LSTM core of the POPGym baselines, written out with
 * PyTorch's cell equations (rnnCoreBptt below says what it keeps and how it sums).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { RnnCell, RnnState } from "./rnnConfig.js";

export interface CoreBpttOut {
  /** Outputs h_t of all steps [T*B, H]. */
  readonly hAll: tf.Tensor2D;
  readonly final: RnnState;
  /** Gradient of the input projections [T*B, G]. */
  readonly dxi: tf.Tensor2D;
  readonly dWeightHh: tf.Tensor;
  readonly dBiasHh: tf.Tensor;
  readonly headGrads: Record<string, tf.Tensor>;
}

/**
 * The recurrent core over T steps with a written-out backward pass (inside the caller's tidy).
 * Forward keeps each step's reset input state and gates; `head` maps all outputs [T*B, H] to the
 * gradient at every h_t (and its own parameter gradients). Backward runs the PyTorch cell
 * equations in reverse, applying the reset masks, and sums the recurrent-weight gradient over all
 * steps with one matmul (K = T*B) instead of one per step.
 */
export function rnnCoreBptt(
  cell: RnnCell,
  xi: tf.Tensor2D,
  starts: tf.Tensor2D,
  initial: RnnState,
  weightHh: tf.Tensor,
  biasHh: tf.Tensor,
  head: (hAll: tf.Tensor2D) => { dh: tf.Tensor2D; grads: Record<string, tf.Tensor> },
): CoreBpttOut {
  const [T, B] = starts.shape;
  // Per-step rows are cut on the JS side: slicing or unstacking a large tensor on the wasm
  // backend costs milliseconds per slice (it reads the whole source), uploads cost microseconds.
  const steps = (x: tf.Tensor2D): tf.Tensor2D[] => {
    const data = x.dataSync() as Float32Array;
    const width = x.shape[1];
    return Array.from({ length: T }, (_, t) =>
      tf.tensor2d(data.subarray(t * B * width, (t + 1) * B * width), [B, width]),
    );
  };
  const xiSteps = steps(xi);
  const startData = starts.dataSync();
  const keeps = Array.from({ length: T }, (_, t) =>
    tf.tensor2d(
      Float32Array.from(startData.subarray(t * B, (t + 1) * B), (v) => 1 - v),
      [B, 1],
    ),
  );
  const wT = tf.transpose(weightHh) as tf.Tensor2D;
  const hIn: tf.Tensor2D[] = [];
  const cIn: tf.Tensor2D[] = [];
  const saved: tf.Tensor2D[][] = [];
  const outs: tf.Tensor2D[] = [];
  let h = initial.h;
  let c = initial.c;
  for (let t = 0; t < T; t++) {
    const keep = keeps[t] as tf.Tensor2D;
    const hr = tf.mul(h, keep) as tf.Tensor2D;
    hIn.push(hr);
    const gh = tf.add(tf.matMul(hr, wT), biasHh) as tf.Tensor2D;
    const x = xiSteps[t] as tf.Tensor2D;
    if (cell === "gru") {
      const [xr, xz, xn] = tf.split(x, 3, 1) as tf.Tensor2D[];
      const [hr_, hz, hn] = tf.split(gh, 3, 1) as tf.Tensor2D[];
      const r = tf.sigmoid(tf.add(xr as tf.Tensor2D, hr_ as tf.Tensor2D)) as tf.Tensor2D;
      const z = tf.sigmoid(tf.add(xz as tf.Tensor2D, hz as tf.Tensor2D)) as tf.Tensor2D;
      const n = tf.tanh(tf.add(xn as tf.Tensor2D, tf.mul(r, hn as tf.Tensor2D))) as tf.Tensor2D;
      saved.push([r, z, n, hn as tf.Tensor2D]);
      h = tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, hr)) as tf.Tensor2D;
    } else {
      const cr = tf.mul(c as tf.Tensor2D, keep) as tf.Tensor2D;
      cIn.push(cr);
      const [ai, af, ag, ao] = tf.split(tf.add(x, gh), 4, 1) as tf.Tensor2D[];
      const i = tf.sigmoid(ai as tf.Tensor2D) as tf.Tensor2D;
      const f = tf.sigmoid(af as tf.Tensor2D) as tf.Tensor2D;
      const g = tf.tanh(ag as tf.Tensor2D) as tf.Tensor2D;
      const o = tf.sigmoid(ao as tf.Tensor2D) as tf.Tensor2D;
      c = tf.add(tf.mul(f, cr), tf.mul(i, g)) as tf.Tensor2D;
      const tc = tf.tanh(c) as tf.Tensor2D;
      saved.push([i, f, g, o, tc]);
      h = tf.mul(o, tc) as tf.Tensor2D;
    }
    outs.push(h);
  }
  const hAll = tf.concat(outs, 0) as tf.Tensor2D;
  const top = head(hAll);
  const dhSteps = steps(top.dh);
  const dGates: tf.Tensor2D[] = new Array(T);
  const dGh: tf.Tensor2D[] = new Array(T);
  let carryH: tf.Tensor2D | undefined;
  let carryC: tf.Tensor2D | undefined;
  for (let t = T - 1; t >= 0; t--) {
    const incomingH = carryH;
    const incomingC = carryC;
    // Per-step tidy: only the gate gradients and the carries survive the step.
    const step = tf.tidy(() => {
      const dh =
        incomingH === undefined
          ? (dhSteps[t] as tf.Tensor2D)
          : (tf.add(dhSteps[t] as tf.Tensor2D, incomingH) as tf.Tensor2D);
      const keep = keeps[t] as tf.Tensor2D;
      if (cell === "gru") {
        const [r, z, n, hn] = saved[t] as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        const hr = hIn[t] as tf.Tensor2D;
        const dn = tf.mul(dh, tf.sub(1, z));
        const dz = tf.mul(dh, tf.sub(hr, n));
        const dan = tf.mul(dn, tf.sub(1, tf.square(n)));
        const dar = tf.mul(tf.mul(dan, hn), tf.mul(r, tf.sub(1, r)));
        const daz = tf.mul(dz, tf.mul(z, tf.sub(1, z)));
        const dgh = tf.concat([dar, daz, tf.mul(dan, r)], 1) as tf.Tensor2D;
        const dhIn = tf.add(tf.mul(dh, z), tf.matMul(dgh, weightHh as tf.Tensor2D));
        return [tf.concat([dar, daz, dan], 1), dgh, tf.mul(dhIn, keep)];
      }
      const [i, f, g, o, tc] = saved[t] as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      const fromH = tf.mul(tf.mul(dh, o), tf.sub(1, tf.square(tc)));
      const dcTotal = incomingC === undefined ? fromH : tf.add(fromH, incomingC);
      const dai = tf.mul(tf.mul(dcTotal, g), tf.mul(i, tf.sub(1, i)));
      const daf = tf.mul(tf.mul(dcTotal, cIn[t] as tf.Tensor2D), tf.mul(f, tf.sub(1, f)));
      const dag = tf.mul(tf.mul(dcTotal, i), tf.sub(1, tf.square(g)));
      const dao = tf.mul(tf.mul(dh, tc), tf.mul(o, tf.sub(1, o)));
      const dgates = tf.concat([dai, daf, dag, dao], 1) as tf.Tensor2D;
      const dhIn = tf.matMul(dgates, weightHh as tf.Tensor2D);
      return [dgates, dgates.clone(), tf.mul(dhIn, keep), tf.mul(tf.mul(dcTotal, f), keep)];
    }) as tf.Tensor2D[];
    dGates[t] = step[0] as tf.Tensor2D;
    dGh[t] = step[1] as tf.Tensor2D;
    carryH?.dispose();
    carryC?.dispose();
    carryH = step[2];
    carryC = step[3];
  }
  const dGhAll = tf.concat(dGh, 0) as tf.Tensor2D;
  const hInAll = tf.concat(hIn, 0) as tf.Tensor2D;
  return {
    hAll,
    final: c !== undefined ? { h, c } : { h },
    dxi: tf.concat(dGates, 0) as tf.Tensor2D,
    dWeightHh: tf.matMul(tf.transpose(dGhAll), hInAll),
    dBiasHh: tf.sum(dGhAll, 0),
    headGrads: top.grads,
  };
}
