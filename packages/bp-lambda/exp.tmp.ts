import { BpLambdaTrainer } from "./src/index.js";
const [method, lambda, n, sgLr, lr, epochs, bpe, step, seed, task, extra] = process.argv.slice(2);
const t0 = performance.now();
const tr = new BpLambdaTrainer({ task: (task ?? "toy") as "toy", method: method as "bp-lambda", lambda: Number(lambda), n: n === "-" ? undefined : Number(n), sgLearningRate: Number(sgLr), learningRate: Number(lr), epochs: Number(epochs), batchesPerEpoch: Number(bpe), lengthStep: Number(step), length: Number(step), solvedWindow: 5, seed: Number(seed ?? 0), ...(extra ? JSON.parse(extra) : {}) });
let last = 0;
while (tr.completed < tr.total) { const r = await tr.next(); if (r.eval && process.env.V) console.log(JSON.stringify(r.eval)); if (task === "copy-repeat" && tr.completed - last >= 200) { last = tr.completed; console.log(tr.completed, JSON.stringify(r.train)); } }
console.log(process.argv.slice(2).join(" "), "=>", tr.summary().score, ((performance.now() - t0) / 1000).toFixed(1), "s");
