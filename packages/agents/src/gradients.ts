import { register } from "node:module";
import * as tf from "@tensorflow/tfjs-core";

/**
 * tfjs-core registers no gradient functions by itself (the @tensorflow/tfjs union package does,
 * and we do not depend on it). Its per-kernel gradient modules ship only as ES modules with
 * extension-less relative imports, which Node's ESM resolver rejects (and tsx trips on
 * `./gradients`, both a file and a folder there). A resolve hook scoped to tfjs-core's dist folder
 * retries such specifiers with ".js"; then `dist/register_all_gradients.js` loads and fills the
 * gradient registry, which tfjs keeps on globalThis and so shares with the CommonJS build we use.
 */
const HOOK = `
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    const parent = context.parentURL ?? "";
    if (parent.includes("/@tensorflow/tfjs-core/dist/") && specifier.startsWith(".") && !specifier.endsWith(".js")) {
      return next(specifier + ".js", context);
    }
    throw error;
  }
}`;

let registered = false;

/**
 * Makes tf.grad, tf.grads and tf.variableGrads work for every built-in kernel (idempotent).
 * `selectBackend()` and `ensureBackend()` call it, so every trainer has the gradients; call it
 * yourself before using TensorFlow.js's autodiff without selecting a backend through this package.
 * It is not run on import: a top-level await would make `require("@sgprop/agents")` fail with
 * ERR_REQUIRE_ASYNC_MODULE.
 */
export async function registerAllGradients(): Promise<void> {
  if (registered) return;
  if (tf.getGradient("Sum") === undefined) {
    register(`data:text/javascript,${encodeURIComponent(HOOK)}`);
    const specifier: string = "@tensorflow/tfjs-core/dist/register_all_gradients.js";
    await import(specifier);
  }
  if (tf.getGradient("Sum") === undefined) throw new Error("tfjs gradient registration failed");
  registered = true;
}
