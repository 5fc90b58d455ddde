/**
 * Worker side of {@link ParallelSparseNetEvaluator}: its own TensorFlow.js backend and a copy of
 * the network, fed the current parameters and a slice of contexts per request.
 */
import { parentPort, workerData } from "node:worker_threads";
import * as tf from "@tensorflow/tfjs-core";
import { type BackendName, selectBackend } from "../backend.js";
import {
  type FeedforwardConnectivity,
  FeedforwardSparseNet,
  type FeedforwardSparseNetConfig,
} from "./sparseNet.js";

interface Init {
  readonly backend: BackendName;
  readonly config: FeedforwardSparseNetConfig;
  readonly connectivity: FeedforwardConnectivity;
  readonly params: Record<string, { data: Float32Array; shape: number[] }>;
}

const init = workerData as Init;
const port = parentPort;
if (port === null) throw new Error("parallelEvalWorker must run in a worker thread");
await selectBackend(init.backend);
const start: Record<string, tf.Tensor> = {};
for (const [k, v] of Object.entries(init.params)) start[k] = tf.tensor(v.data, v.shape);
const net = new FeedforwardSparseNet(init.config, init.connectivity, start);
tf.dispose(Object.values(start));
port.on("message", (m: { params: Record<string, Float32Array>; x: Float32Array; n: number }) => {
  try {
    for (const [k, data] of Object.entries(m.params)) {
      const v = net.vars[k] as tf.Variable;
      tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
    }
    const x = tf.tensor2d(m.x, [m.n, init.config.inputDim]);
    // One chunk per request (the caller already split the contexts): fewer, larger GEMMs.
    const p = net.probabilities(x, Math.min(m.n, 2000));
    const out = p.dataSync() as Float32Array;
    tf.dispose([x, p]);
    port.postMessage({ probabilities: out }, [out.buffer as ArrayBuffer]);
  } catch (e) {
    port.postMessage({ error: e instanceof Error ? e.message : String(e) });
  }
});
port.postMessage({ ready: true });
