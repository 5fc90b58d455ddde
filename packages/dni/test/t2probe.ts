import { selectBackend } from "@sgprop/agents";
import { runTable2Cell, TABLE2_DEFAULTS } from "../src/index.js";

await selectBackend((process.env.BK as "cpu") ?? "cpu");
const [steps, lr, depth, loss, kinds, placement] = [
  Number(process.argv[2]),
  Number(process.argv[3]),
  process.argv[4] as "deep",
  process.argv[5] as "mse",
  process.argv[6]!.split(","),
  (process.argv[7] ?? "every") as "every",
];
for (const kind of kinds as "linear"[])
  for (const method of ["backprop", "sg"] as const) {
    const t = Date.now();
    const r = runTable2Cell({
      ...TABLE2_DEFAULTS,
      kind,
      loss,
      k: 2,
      n: 100,
      depth,
      method,
      index: 0,
      steps,
      learningRate: lr,
      placement,
    });
    console.log(
      depth,
      loss,
      kind,
      method,
      r.finalLoss.toExponential(3),
      r.optimum.toExponential(3),
      r.gap.toExponential(3),
      `${Date.now() - t}ms`,
    );
  }
