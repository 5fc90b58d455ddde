import * as tf from "@tensorflow/tfjs-core";
import { fastMatMul } from "./matmul.js";

/**
 * The recurrent SparseNet's slot-mixture actor (SPEC 4.3) on flattened states f [N, W*q]:
 * beta_{a,s} = softmax_s(<f, actorKeys[a,s]> / sqrt(Wq)), logit_a = sum_s beta_{a,s} (<f, actorA[a,s]> + actorB[a,s]).
 */
export function slotActorLogits(
  f: tf.Tensor2D,
  actorKeys: tf.Tensor,
  actorA: tf.Tensor,
  actorB: tf.Tensor,
): tf.Tensor2D {
  const [numActions, numSlots, features] = actorKeys.shape as [number, number, number];
  const n = f.shape[0];
  const keys = tf.reshape(actorKeys, [numActions * numSlots, features]) as tf.Tensor2D;
  const weights = tf.reshape(actorA, [numActions * numSlots, features]) as tf.Tensor2D;
  const scores = tf.mul(fastMatMul(f, tf.transpose(keys)), 1 / Math.sqrt(features));
  const beta = tf.softmax(tf.reshape(scores, [n, numActions, numSlots]));
  const values = tf.add(tf.reshape(fastMatMul(f, tf.transpose(weights)), [n, numActions, numSlots]), actorB);
  return tf.sum(tf.mul(beta, values), -1) as tf.Tensor2D;
}
