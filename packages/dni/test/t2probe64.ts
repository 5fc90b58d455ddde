import { selectBackend } from "@sgprop/agents";
import { artificialData, globalOptimum, Linear64Learner, matrix64, sgBoundaries } from "../src/index.js";

await selectBackend("cpu");
const [steps, lr, depth, loss, kinds, placement, k] = [
  Number(process.argv[2]),
  Number(process.argv[3]),
  process.argv[4],
  process.argv[5] as "mse",
  process.argv[6]!.split(","),
  (process.argv[7] ?? "every") as "every",
  Number(process.argv[8] ?? 2),
];
const n = k === 2 ? 100 : 1000;
for (const kind of kinds as "linear"[]) {
  const d = artificialData(kind, loss, k, n, 0, 0);
  const opt = globalOptimum(d, loss);
  const sizes = depth === "deep" ? [k, ...Array(10).fill(k), 1] : [k, 1];
  for (const method of ["backprop", "sg"] as const) {
    const t = Date.now();
    const sgAt =
      depth === "deep"
        ? sgBoundaries({ layerSizes: sizes, activation: "linear", batchNorm: false }, placement)
        : [1];
    const l = new Linear64Learner({
      layerSizes: sizes,
      loss,
      method,
      sgAt,
      conditioning: "both",
      learningRate: lr,
      seed: 0,
    });
    const x = matrix64(n, k, d.x),
      y = matrix64(n, 1, d.y);
    const trace: string[] = [];
    for (let s = 1; s <= steps; s++) {
      const v = l.step(x, y);
      if (s % (steps / 5) === 0) trace.push(v.toExponential(2));
    }
    const f = l.loss(x, y);
    console.log(
      depth,
      loss,
      kind,
      method,
      f.toExponential(3),
      opt.toExponential(3),
      (f - opt).toExponential(3),
      `${Date.now() - t}ms`,
      trace.join(" "),
    );
  }
}
