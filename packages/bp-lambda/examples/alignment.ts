import { BpLambdaTrainer } from "@sgprop/bp-lambda";

/**
 * The toy task with the fixed linear RNN (the paper's Fig. 2): only the synthesiser learns, online
 * with BP(lambda). Returns the mean cosine between synthetic and true gradients over the last 50
 * batches.
 */
export async function alignment(lambda: number, batches = 120): Promise<number> {
  const trainer = new BpLambdaTrainer({
    task: "toy",
    fixedRnn: true,
    lambda,
    sgLearningRate: 1e-3,
    epochs: 1,
    batchesPerEpoch: batches,
  });
  let sum = 0;
  while (trainer.completed < trainer.total) {
    const { train } = await trainer.next();
    if (trainer.completed > batches - 50) sum += train["sg/alignment"] ?? 0;
  }
  return sum / 50;
}

for (const lambda of [0, 0.5, 1]) {
  alignment(lambda).then((a) =>
    console.log(`BP(${lambda}): synthetic/true gradient alignment ${a.toFixed(2)}`),
  );
}
