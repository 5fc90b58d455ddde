import { Rng } from "@sgprop/gym";
import { type ContextBatch, MnistBandit } from "@sgprop/mnist-bandit";

/** A linear softmax policy trained with REINFORCE on the noisy bandit; returns its evaluation. */
export async function trainLinearPolicy(steps = 300, seed = 0, lr = 0.05) {
  const bandit = new MnistBandit({ seed }); // bundled digits, 9 actions, pFlip 0.4
  const [A, D, B] = [bandit.numActions, bandit.contextSize, 64];
  const W = new Float32Array(A * D); // logits = W x
  const probabilities = (batch: ContextBatch) => {
    const p = new Float32Array(batch.size * A);
    for (let b = 0; b < batch.size; b++) {
      let z = 0;
      for (let a = 0; a < A; a++) {
        let logit = 0;
        for (let i = 0; i < D; i++) logit += W[a * D + i]! * batch.contexts[b * D + i]!;
        p[b * A + a] = Math.exp(Math.min(logit, 50));
        z += p[b * A + a]!;
      }
      for (let a = 0; a < A; a++) p[b * A + a]! /= z;
    }
    return p;
  };
  const rng = Rng.derive(seed, "example/actions"); // samples actions; never the bandit's streams
  const batch = bandit.createBatch(B);
  const actions = new Int32Array(B);
  for (let step = 0; step < steps; step++) {
    const p = probabilities(bandit.sample(batch));
    for (let b = 0; b < B; b++) {
      let u = rng.float() - p[b * A]!;
      let a = 0;
      while (u >= 0 && a < A - 1) u -= p[b * A + ++a]!;
      actions[b] = a;
    }
    const rewards = bandit.score(batch, actions); // 1 for the label, flipped with probability 0.4
    for (let b = 0; b < B; b++) {
      for (let a = 0; a < A; a++) {
        // descent on -mean(r log pi(a_b | x_b)), the paper's bandit loss
        const g = (lr * rewards[b]! * ((a === actions[b] ? 1 : 0) - p[b * A + a]!)) / B;
        for (let i = 0; i < D; i++) W[a * D + i]! += g * batch.contexts[b * D + i]!;
      }
    }
  }
  return bandit.evaluate((b) => ({ probabilities: probabilities(b) }), { n: 1000 });
}
