import { BpLambdaTrainer, type BpLambdaTrainOptions } from "../src/index.js";
const extra = JSON.parse(process.argv[2] as string) as BpLambdaTrainOptions;
const t = new BpLambdaTrainer({ task: "copy-repeat", hiddenSize: 32, batchSize: 20, epochs: 200, batchesPerEpoch: 10, learningRate: 3e-3, sgLearningRate: 1e-3, method: "bp-lambda", lambda: 1, seed: 0, ...extra });
while (t.completed < t.total) await t.next();
console.log(JSON.stringify(extra), t.summary().score);
