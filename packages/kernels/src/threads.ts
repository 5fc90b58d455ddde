/**
 * Thread controls for tests and benchmarks: the numbers of every kernel must not depend on the
 * number of threads, and these make both cases easy to run side by side.
 */
import { kernelHelperCalls, prewarmKernelThreads } from "./runtime.js";

/** Runs `f` with the helper thread switched off (as `SGPROP_CORE_THREADS=1`). */
export function onOneThread<T>(f: () => T): T {
  const saved = process.env.SGPROP_CORE_THREADS;
  process.env.SGPROP_CORE_THREADS = "1";
  try {
    return f();
  } finally {
    if (saved === undefined) delete process.env.SGPROP_CORE_THREADS;
    else process.env.SGPROP_CORE_THREADS = saved;
  }
}

/**
 * Repeats `probe` until the helper thread took part in a call (it joins calls once it is up and
 * awake), and returns that call's result; throws when it never does.
 */
export async function withKernelHelper<T>(probe: () => T): Promise<T> {
  prewarmKernelThreads();
  for (let i = 0; i < 200; i++) {
    const before = kernelHelperCalls();
    const r = probe();
    if (kernelHelperCalls() > before) return r;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error("the kernels' helper thread never took part in a call");
}
