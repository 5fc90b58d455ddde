import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { registerAllGradients } from "./gradients.js";

/**
 * Backends a user can name (SPEC 7). `tensorflow-gpu` is TensorFlow's native backend through
 * @tensorflow/tfjs-node-gpu (CUDA), `tensorflow-cpu` the same through @tensorflow/tfjs-node;
 * `tensorflow` takes the first of the two that loads. Only `wasm` and `cpu` run our own
 * WebAssembly kernels; the native backends run every model on TensorFlow's own kernels.
 */
export type BackendName = "wasm" | "cpu" | "tensorflow-gpu" | "tensorflow-cpu" | "tensorflow";

/** Every name {@link selectBackend} accepts. */
export const BACKEND_NAMES: readonly BackendName[] = [
  "wasm",
  "cpu",
  "tensorflow-gpu",
  "tensorflow-cpu",
  "tensorflow",
];

/**
 * The backends tried, in order, when none is named: wasm, then cpu. The native backends are never
 * chosen implicitly (a machine may have tfjs-node-gpu installed and no CUDA); name one to use it.
 */
export const DEFAULT_BACKEND_ORDER: readonly BackendName[] = ["wasm", "cpu"];

/** The npm package behind each native backend name. */
const NATIVE_PACKAGES = {
  "tensorflow-gpu": ["@tensorflow/tfjs-node-gpu"],
  "tensorflow-cpu": ["@tensorflow/tfjs-node"],
  tensorflow: ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"],
} as const;

/** A backend was named (argument or SGPROP_BACKEND) but cannot be used on this machine. */
export class BackendUnavailableError extends Error {
  constructor(
    readonly backend: string,
    reason: string,
  ) {
    super(`TensorFlow.js backend "${backend}" is not available: ${reason}`);
    this.name = "BackendUnavailableError";
  }
}

const require = createRequire(import.meta.url);
let logged = false;
let selected: string | undefined;

/** Narrows a user-supplied string to a backend name, with a clear error otherwise. */
export function parseBackendName(value: string): BackendName {
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new BackendUnavailableError(value, `unknown backend name; use one of ${BACKEND_NAMES.join(", ")}`);
}

function errorText(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split("\n")[0] ?? text;
}

/**
 * Loads the given native packages in order (@tensorflow/tfjs-node-gpu, @tensorflow/tfjs-node). Both
 * are optional peer dependencies whose install scripts download libtensorflow; when they are absent
 * or their native addon is missing, the import fails and that failure is reported as the reason.
 */
async function tryTensorflow(packages: readonly string[]): Promise<string | undefined> {
  const reasons: string[] = [];
  // A failed first attempt leaves its kernels registered, and the second package registers the
  // same names again; tfjs warns once per kernel (about a hundred lines), which we drop.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === "string" && args[0].includes("is already registered")) return;
    warn(...args);
  };
  try {
    for (const pkg of packages) {
      try {
        // A variable specifier keeps TypeScript from requiring the optional packages' types.
        const specifier: string = pkg;
        await import(specifier);
        if (await tf.setBackend("tensorflow")) return pkg;
        reasons.push(`${pkg}: backend registration failed`);
      } catch (e) {
        reasons.push(`${pkg}: ${errorText(e)}`);
      }
    }
  } finally {
    console.warn = warn;
  }
  lastTensorflowFailure = reasons.join("; ");
  return undefined;
}
let lastTensorflowFailure = "";

/** Directory holding the tfjs-backend-wasm binaries (they ship inside the npm package). */
export function wasmBinaryDirectory(): string {
  return `${join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist")}/`;
}

async function tryWasm(): Promise<boolean> {
  setWasmPaths(wasmBinaryDirectory());
  try {
    return await tf.setBackend("wasm");
  } catch {
    return false;
  }
}

/**
 * Chooses and initialises the TensorFlow.js backend for this process and returns its name as
 * TensorFlow.js reports it ("tensorflow", "wasm" or "cpu").
 *
 * Unless a backend is named (argument, else the `SGPROP_BACKEND` environment variable), it tries
 * wasm, then cpu. The native backends run only when named: `tensorflow-gpu` (tfjs-node-gpu, CUDA),
 * `tensorflow-cpu` (tfjs-node) or `tensorflow` (the first of the two that loads); TensorFlow.js
 * reports both as "tensorflow". A named backend that cannot start throws
 * {@link BackendUnavailableError} instead of silently falling back. The choice is logged once per
 * process (to stderr). It also registers TensorFlow.js's gradient functions (see gradients.ts).
 *
 * The wasm backend runs single-threaded under Node: tfjs 4.22 disables wasm threads in Node
 * (WASM_HAS_MULTITHREAD_SUPPORT is false there), so it uses the SIMD binary on one core.
 */
export async function selectBackend(name?: BackendName): Promise<string> {
  const envName = process.env.SGPROP_BACKEND;
  const requested = name ?? (envName !== undefined && envName !== "" ? parseBackendName(envName) : undefined);
  await registerAllGradients();
  let chosen: string | undefined;
  let detail = "";
  if (requested === undefined) {
    if (await tryWasm()) {
      chosen = "wasm";
    } else if (await tf.setBackend("cpu")) {
      chosen = "cpu";
    }
    if (chosen === undefined) throw new BackendUnavailableError("any", "no backend could be initialised");
  } else if (requested === "tensorflow" || requested === "tensorflow-gpu" || requested === "tensorflow-cpu") {
    const packages = NATIVE_PACKAGES[requested];
    const pkg = await tryTensorflow(packages);
    if (pkg === undefined) {
      throw new BackendUnavailableError(
        requested,
        `${lastTensorflowFailure}. Install ${packages.join(" or ")} 4.x with its install script allowed (see "GPU and native TensorFlow" in the sgprop-ts README).`,
      );
    }
    chosen = "tensorflow";
    detail = pkg;
  } else if (requested === "wasm") {
    if (!(await tryWasm()))
      throw new BackendUnavailableError("wasm", `could not load ${wasmBinaryDirectory()}`);
    chosen = "wasm";
  } else {
    if (!(await tf.setBackend("cpu"))) throw new BackendUnavailableError("cpu", "initialisation failed");
    chosen = "cpu";
  }
  await tf.ready();
  if (chosen === "wasm") {
    const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
    detail = `${simd ? "simd" : "no simd"}, single thread`;
  }
  if (!logged || selected !== chosen) {
    logged = true;
    // On wasm and cpu the SparseNet, MLP and Adam work runs in our own kernels (kernels/*.c).
    const kernels =
      chosen === "tensorflow"
        ? ""
        : `; model kernels: WebAssembly SIMD on ${process.env.SGPROP_CORE_THREADS === "1" ? "1 thread" : "2 threads"}`;
    process.stderr.write(
      `[sgprop] TensorFlow.js backend: ${chosen}${detail ? ` (${detail})` : ""}${kernels}\n`,
    );
  }
  selected = chosen;
  return chosen;
}

/** The backend currently active in TensorFlow.js. */
export function currentBackend(): string {
  return tf.getBackend();
}

/** Selects the default backend unless {@link selectBackend} already ran in this process. */
export async function ensureBackend(): Promise<string> {
  if (selected !== undefined && tf.getBackend() === selected) return selected;
  return selectBackend();
}
