import { BpLambdaTrainer } from "./src/index.js";
for (const method of ["bp-lambda"] as const) {
  const t0 = performance.now();
  const tr = new BpLambdaTrainer({ task: "toy", method, n: method === "bptt-sg" ? 3 : undefined, epochs: 30, batchesPerEpoch: 10, maxLength: 40, lengthStep: 4, length: 4, solvedWindow: 5 });
  let rows;
  while (tr.completed < tr.total) { rows = await tr.next(); if (rows.eval) console.log(method, JSON.stringify(rows.eval)); }
  console.log(method, tr.summary(), ((performance.now() - t0) / 1000).toFixed(1), "s");
}
