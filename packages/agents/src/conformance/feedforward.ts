import type { CaseChecker, CheckOutcome, GoldenFile, GoldenTensor, Tolerance } from "@sgprop/conformance";
import {
  Comparison,
  goldenConfigNumber,
  goldenExpected,
  goldenScalar,
  goldenTensor,
} from "@sgprop/conformance";
import * as tf from "@tensorflow/tfjs-core";
import { ensureBackend } from "../backend.js";
import { banditLoss } from "../bandit/loss.js";
import { Mlp, mlpShapes } from "../feedforward/mlp.js";
import { backpropPolicyGradients, sgPhaseGradients, sgpropPolicyGradients } from "../feedforward/sgprop.js";
import { FeedforwardSparseNet } from "../feedforward/sparsenet.js";
import {
  feedforwardPolicyNames,
  feedforwardSgNames,
  feedforwardShapes,
} from "../feedforward/sparsenetConfig.js";
import { Adam } from "../optim/adam.js";

/**
 * Tolerances for our float32 backends against the float64 golden numbers (golden README section 9):
 * - forward values: 1e-5 absolute + 1e-4 relative;
 * - gradients, SG targets, predictions, losses: an absolute part of 1e-4 times the tensor's largest
 *   |value| (so entries near zero are judged on the tensor's scale) + 1e-3 relative;
 * - theta: 1e-4 absolute;
 * - parameters after Adam steps: 1e-2 * lr absolute (Adam moves an entry by about lr * sign(g), and a
 *   float32 gradient below ~1e-6 may move it by a different fraction of lr).
 */
export const FEEDFORWARD_TOLERANCES = {
  forward: { abs: 1e-5, rel: 1e-4 },
  gradientScale: 1e-4,
  gradientRel: 1e-3,
  theta: { abs: 1e-4, rel: 0 },
  afterLrFraction: 1e-2,
} as const;

function toTensor(t: GoldenTensor, dtype: "float32" | "int32" = "float32"): tf.Tensor {
  return dtype === "int32"
    ? tf.tensor(Int32Array.from(t.data), [...t.shape], "int32")
    : tf.tensor(t.data, [...t.shape]);
}

function gradTol(expected: GoldenTensor): Tolerance {
  const scale = expected.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return {
    abs: FEEDFORWARD_TOLERANCES.gradientScale * scale + 1e-12,
    rel: FEEDFORWARD_TOLERANCES.gradientRel,
  };
}

function compareGrad(cmp: Comparison, file: GoldenFile, name: string, actual: tf.Tensor | undefined): void {
  if (actual === undefined) {
    cmp.fail(`${name}: not computed`);
    return;
  }
  const e = goldenExpected(file, name);
  cmp.tensor(name, actual.dataSync(), e, gradTol(e));
}

function compareAfter(
  cmp: Comparison,
  file: GoldenFile,
  name: string,
  actual: tf.Tensor | undefined,
  lr: number,
): void {
  if (actual === undefined) {
    cmp.fail(`${name}: missing parameter`);
    return;
  }
  cmp.tensor(name, actual.dataSync(), goldenExpected(file, name), {
    abs: FEEDFORWARD_TOLERANCES.afterLrFraction * lr,
    rel: 0,
  });
}

function loadSparseNet(file: GoldenFile): FeedforwardSparseNet {
  const cfg = {
    inputDim: goldenConfigNumber(file, "inputDim"),
    numLayers: goldenConfigNumber(file, "numLayers"),
    width: goldenConfigNumber(file, "width"),
    neuronDim: goldenConfigNumber(file, "nDim"),
    numSlots: goldenConfigNumber(file, "numSlots"),
    numParents: goldenConfigNumber(file, "numParents"),
    numActions: goldenConfigNumber(file, "numActions"),
    residual: file.config?.residual === true,
  };
  const params: Record<string, tf.Tensor> = {};
  try {
    for (const [name, shape] of Object.entries(feedforwardShapes(cfg)))
      params[name] = toTensor(goldenTensor(file, name, shape));
    return new FeedforwardSparseNet(
      cfg,
      {
        firstLayerInputIdx: Int32Array.from(goldenTensor(file, "firstLayerInputIdx").data),
        parentIdx: Int32Array.from(goldenTensor(file, "parentIdx").data),
      },
      params,
    );
  } finally {
    tf.dispose(Object.values(params));
  }
}

function checkSparseNetFeedforward(file: GoldenFile): CheckOutcome {
  const cmp = new Comparison();
  const L = goldenConfigNumber(file, "numLayers");
  const policyLr = goldenConfigNumber(file, "policyLr");
  const sgLr = goldenConfigNumber(file, "sgLr");
  const backpropLr = goldenConfigNumber(file, "backpropLr");
  const momentum = goldenConfigNumber(file, "thetaMomentum");
  const eps = goldenConfigNumber(file, "thetaEps");
  const keys = file.config?.updateSharedKeysInSgPhase === true;
  const mixAction = file.config?.mixActionLayerGradient === true;
  const before = tf.memory().numTensors;

  // Forward and plain backprop.
  let net = loadSparseNet(file);
  tf.tidy(() => {
    const batch = {
      x: toTensor(goldenTensor(file, "x0")),
      actions: toTensor(goldenTensor(file, "actions"), "int32"),
      rewards: toTensor(goldenTensor(file, "rewards")),
    };
    const fwd = net.forward(batch.x, false);
    for (let l = 0; l < L; l++) {
      cmp.tensor(
        `hidden.${l}`,
        fwd.layers[l]?.h.dataSync() ?? [],
        goldenExpected(file, `hidden.${l}`),
        FEEDFORWARD_TOLERANCES.forward,
      );
    }
    cmp.tensor(
      "logits",
      fwd.logits.dataSync(),
      goldenExpected(file, "logits"),
      FEEDFORWARD_TOLERANCES.forward,
    );
    const { loss, logProbs } = banditLoss(fwd.logits, batch.actions, batch.rewards);
    cmp.tensor(
      "logProbs",
      logProbs.dataSync(),
      goldenExpected(file, "logProbs"),
      FEEDFORWARD_TOLERANCES.forward,
    );
    cmp.scalar(
      "loss",
      loss.dataSync()[0] as number,
      goldenScalar(file, "loss"),
      FEEDFORWARD_TOLERANCES.forward,
    );
    const bp = backpropPolicyGradients(net, fwd, batch);
    for (const p of feedforwardPolicyNames(L)) compareGrad(cmp, file, `grad.backprop.${p}`, bp.grads[p]);
    const adam = new Adam(net.policyVars(), { learningRate: backpropLr });
    adam.step(bp.grads);
    adam.dispose();
    for (const p of feedforwardPolicyNames(L))
      compareAfter(cmp, file, `afterBackprop.${p}`, net.vars[p], backpropLr);
  });
  net.dispose();

  // Two sgprop iterations on the same batch: SG phase, then the policy step.
  net = loadSparseNet(file);
  const sgVars: Record<string, tf.Variable> = net.sgVars();
  if (keys) {
    for (let l = 0; l < L; l++) sgVars[`hiddenKeys.${l}`] = net.vars[`hiddenKeys.${l}`] as tf.Variable;
    sgVars.actionKeys = net.vars.actionKeys as tf.Variable;
  }
  const sgAdam = new Adam(sgVars, { learningRate: sgLr });
  const policyAdam = new Adam(net.policyVars(), { learningRate: policyLr });
  const thetaInit = goldenTensor(file, "thetaInit");
  const w = thetaInit.shape[1] as number;
  let theta: tf.Tensor[] = Array.from({ length: L }, (_, l) =>
    tf.tensor1d(thetaInit.data.slice(l * w, (l + 1) * w)),
  );
  for (const suffix of ["", "2"]) {
    const old = theta;
    theta = tf.tidy(() => {
      const batch = {
        x: toTensor(goldenTensor(file, "x0")),
        actions: toTensor(goldenTensor(file, "actions"), "int32"),
        rewards: toTensor(goldenTensor(file, "rewards")),
      };
      const fwd = net.forward(batch.x, true);
      const sg = sgPhaseGradients(net, fwd, batch, theta, {
        mode: "prediction",
        updateSharedKeys: keys,
        record: suffix === "",
      });
      cmp.tensor(
        `sgLosses${suffix}`,
        sg.losses.dataSync(),
        goldenExpected(file, `sgLosses${suffix}`),
        gradTol(goldenExpected(file, `sgLosses${suffix}`)),
      );
      if (suffix === "") {
        for (const [name, t] of Object.entries(sg.recorded)) compareGrad(cmp, file, name, t);
        for (const p of feedforwardSgNames(L)) compareGrad(cmp, file, `grad.sgPhase.${p}`, sg.grads[p]);
      }
      sgAdam.step(sg.grads);
      for (const p of feedforwardSgNames(L))
        compareAfter(cmp, file, `afterSg${suffix}.${p}`, net.vars[p], sgLr);
      const fwd2 = net.forward(batch.x, true);
      const pg = sgpropPolicyGradients(
        net,
        fwd2,
        batch,
        theta,
        {
          mode: "prediction",
          adaptiveTheta: true,
          thetaMomentum: momentum,
          thetaEps: eps,
          mixActionLayer: mixAction,
          record: suffix === "",
        },
        mixAction ? tf.ones([goldenConfigNumber(file, "numActions")]) : undefined,
      );
      if (suffix === "") {
        for (const kind of ["trueGrad", "sgPrediction", "mixedGrad"]) {
          for (let l = 0; l < L; l++) compareGrad(cmp, file, `${kind}.${l}`, pg.recorded[`${kind}.${l}`]);
        }
        const tb = tf.stack(Array.from({ length: L }, (_, l) => pg.recorded[`thetaBatch.${l}`] as tf.Tensor));
        cmp.tensor(
          "thetaBatch",
          tb.dataSync(),
          goldenExpected(file, "thetaBatch"),
          FEEDFORWARD_TOLERANCES.theta,
        );
        for (const p of feedforwardPolicyNames(L)) compareGrad(cmp, file, `grad.sgprop.${p}`, pg.grads[p]);
      }
      cmp.tensor(
        `thetaAfter${suffix}`,
        tf.stack(pg.theta).dataSync(),
        goldenExpected(file, `thetaAfter${suffix}`),
        FEEDFORWARD_TOLERANCES.theta,
      );
      policyAdam.step(pg.grads);
      for (const p of feedforwardPolicyNames(L))
        compareAfter(cmp, file, `after${suffix}.${p}`, net.vars[p], policyLr);
      return pg.theta;
    });
    tf.dispose(old);
  }
  tf.dispose(theta);
  sgAdam.dispose();
  policyAdam.dispose();
  net.dispose();
  const leaked = tf.memory().numTensors - before;
  if (leaked !== 0) cmp.fail(`the checker leaked ${leaked} tensors`);
  return cmp.outcome();
}

function checkMlp(file: GoldenFile): CheckOutcome {
  const cmp = new Comparison();
  const cfg = {
    inputDim: goldenConfigNumber(file, "inputDim"),
    hiddenWidth: goldenConfigNumber(file, "hiddenWidth"),
    numLayers: goldenConfigNumber(file, "numLayers"),
    numActions: goldenConfigNumber(file, "numActions"),
    residual: file.config?.residual === true,
  };
  const lr = goldenConfigNumber(file, "learningRate");
  const before = tf.memory().numTensors;
  const params: Record<string, tf.Tensor> = {};
  for (const [name, shape] of Object.entries(mlpShapes(cfg)))
    params[name] = toTensor(goldenTensor(file, name, shape));
  const net = new Mlp(cfg, params);
  tf.dispose(Object.values(params));
  const adam = new Adam(net.vars, { learningRate: lr });
  for (const suffix of ["", "2"]) {
    tf.tidy(() => {
      const x = toTensor(goldenTensor(file, "x0"));
      const actions = toTensor(goldenTensor(file, "actions"), "int32");
      const rewards = toTensor(goldenTensor(file, "rewards"));
      const fwd = net.forward(x);
      const { loss, logProbs, dlogits } = banditLoss(fwd.logits, actions, rewards);
      const grads = net.backward(fwd, dlogits);
      if (suffix === "") {
        for (let l = 0; l < cfg.numLayers; l++) {
          cmp.tensor(
            `hidden.${l}`,
            fwd.hidden[l]?.dataSync() ?? [],
            goldenExpected(file, `hidden.${l}`),
            FEEDFORWARD_TOLERANCES.forward,
          );
        }
        cmp.tensor(
          "logits",
          fwd.logits.dataSync(),
          goldenExpected(file, "logits"),
          FEEDFORWARD_TOLERANCES.forward,
        );
        cmp.tensor(
          "logProbs",
          logProbs.dataSync(),
          goldenExpected(file, "logProbs"),
          FEEDFORWARD_TOLERANCES.forward,
        );
        cmp.scalar(
          "loss",
          loss.dataSync()[0] as number,
          goldenScalar(file, "loss"),
          FEEDFORWARD_TOLERANCES.forward,
        );
        for (const p of Object.keys(mlpShapes(cfg))) compareGrad(cmp, file, `grad.${p}`, grads[p]);
      }
      adam.step(grads);
      for (const p of Object.keys(mlpShapes(cfg)))
        compareAfter(cmp, file, `after${suffix}.${p}`, net.vars[p], lr);
    });
  }
  adam.dispose();
  net.dispose();
  const leaked = tf.memory().numTensors - before;
  if (leaked !== 0) cmp.fail(`the checker leaked ${leaked} tensors`);
  return cmp.outcome();
}

/** Checkers for the bandit models (cases sparsenet-feedforward, mlp). */
export const feedforwardCheckers: readonly CaseChecker[] = [
  {
    case: "sparsenet-feedforward",
    async check(file) {
      await ensureBackend();
      return checkSparseNetFeedforward(file);
    },
  },
  {
    case: "mlp",
    async check(file) {
      await ensureBackend();
      return checkMlp(file);
    },
  },
];
