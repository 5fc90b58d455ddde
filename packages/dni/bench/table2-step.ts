// CPU time of one Table 2 step per model, by the per-example learner (linear64.ts) and the moment
// form Table 2 runs with (moments64.ts), plus the cost of each paper-size cell at 100,000 steps.
// CPU time (process.cpuUsage), not wall time, so that other jobs on a shared machine count less.
// Run: pnpm --filter @sgprop/dni bench   (about a minute)
import {
  artificialData,
  defaultPoints,
  Linear64Learner,
  Moment64Learner,
  matrix64,
  sgBoundaries,
  table2Net,
} from "../src/index.js";

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function time(learner: Linear64Learner, k: number, loss: "mse" | "logistic", steps: number): number {
  const n = defaultPoints(k);
  const d = artificialData("noisy", loss, k, n, 0, 0);
  const x = matrix64(n, k, d.x);
  const y = matrix64(n, 1, d.y);
  learner.step(x, y); // warm-up
  const t0 = cpuMs();
  for (let s = 0; s < steps; s++) learner.step(x, y);
  return (cpuMs() - t0) / steps;
}

console.log("k    model    loss      method    per-example ms   moments ms   100k steps (moments)");
for (const k of [2, 100]) {
  for (const depth of ["shallow", "deep"] as const) {
    const net = table2Net({ k, depth, hiddenLayers: 10, hiddenWidth: 0 });
    for (const loss of ["mse", "logistic"] as const) {
      for (const method of ["backprop", "sg"] as const) {
        const options = {
          layerSizes: net.layerSizes,
          loss,
          method,
          sgAt: method === "sg" ? sgBoundaries(net, depth === "shallow" ? "output" : "every") : [],
          conditioning: "both" as const,
          learningRate: 3e-5,
          seed: 0,
        };
        const steps = k === 100 && depth === "deep" ? 5 : 200;
        const direct = time(new Linear64Learner(options), k, loss, steps);
        const moments = time(new Moment64Learner(options), k, loss, steps);
        console.log(
          `${String(k).padEnd(4)} ${depth.padEnd(8)} ${loss.padEnd(9)} ${method.padEnd(9)} ${direct.toFixed(3).padStart(14)} ${moments.toFixed(3).padStart(12)}   ${((moments * 1e5) / 1000 / 60).toFixed(1)} min`,
        );
      }
    }
  }
}
