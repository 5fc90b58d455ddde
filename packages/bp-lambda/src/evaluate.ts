import type { Rng } from "@sgprop/gym";
import { stepLoss } from "./readout.js";
import { forwardSequence, type Model } from "./sequence.js";
import type { SeqMnistTask } from "./tasks/seqMnist.js";

/**
 * Test accuracy of the model on sequential MNIST: `size` test images drawn with replacement from
 * `rng` (all of the test split, in order, when `size` is 0), classified at the last row.
 */
export function evaluateSeqMnist(model: Model, task: SeqMnistTask, size: number, rng: Rng): number {
  const split = task.dataset.test;
  const indices =
    size > 0
      ? Array.from({ length: size }, () => rng.integer(0, split.count - 1))
      : Array.from({ length: split.count }, (_, i) => i);
  const chunk = 500;
  let correct = 0;
  for (let start = 0; start < indices.length; start += chunk) {
    const picks = indices.slice(start, start + chunk);
    const batch = task.batch(split, picks.length, null, picks);
    const caches = forwardSequence(model.core, batch);
    const last = caches[caches.length - 1];
    const target = batch.targets[batch.targets.length - 1];
    if (!last || !target) continue;
    const y = model.readout.forward(last.state, model.core.stateSize, picks.length);
    correct += stepLoss("xent", y, target, picks.length, task.numClasses, 1).correct;
  }
  return correct / indices.length;
}
