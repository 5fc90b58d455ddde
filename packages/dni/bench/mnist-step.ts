// CPU time of one Fig. 4 training step (MNIST net with batch norm, wasm backend) per depth, by
// backprop and with one SG in the middle, at the quick sweep's size and at the paper's. CPU time
// (process.cpuUsage; the wasm backend runs on one thread), so that other jobs on a shared machine
// count less than in wall time. Run: node --conditions=source --import tsx bench/mnist-step.ts
import * as tf from "@tensorflow/tfjs-core";
import { DniLearner, mnistNet, selectBackend, sgBoundaries } from "../src/index.js";

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

await selectBackend("wasm");
const sizes = [
  { name: "quick", width: 128, batch: 64 },
  { name: "paper", width: 512, batch: 256 },
];
console.log("size   hidden layers  backprop ms  one SG ms  (CPU per step)");
for (const size of sizes) {
  for (const layers of [3, 5, 10, 21, 50]) {
    const ms: number[] = [];
    for (const method of ["backprop", "sg"] as const) {
      const net = mnistNet({ hiddenLayers: layers, width: size.width, activation: "relu", batchNorm: true });
      const learner = new DniLearner({
        net,
        loss: "softmax",
        method,
        ...(method === "sg"
          ? { sgAt: sgBoundaries(net, "middle"), sg: { form: "linear", conditioning: "both" } }
          : {}),
        learningRate: 1e-3,
        seed: 0,
      });
      const x = tf.randomNormal<tf.Rank.R2>([size.batch, 784]);
      const y = tf.tidy(
        () =>
          tf.cast(
            tf.oneHot(tf.randomUniform([size.batch], 0, 10, "int32") as tf.Tensor1D, 10),
            "float32",
          ) as tf.Tensor2D,
      );
      learner.step(x, y); // warm-up
      const steps = size.name === "paper" && layers >= 21 ? 2 : 4;
      const t0 = cpuMs();
      for (let s = 0; s < steps; s++) learner.step(x, y);
      ms.push((cpuMs() - t0) / steps);
      learner.dispose();
      tf.dispose([x, y]);
    }
    console.log(
      `${size.name.padEnd(6)} ${String(layers).padStart(13)} ${ms[0]?.toFixed(0).padStart(12)} ${ms[1]?.toFixed(0).padStart(10)}`,
    );
  }
}
