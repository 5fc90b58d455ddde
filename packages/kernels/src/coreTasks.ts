/**
 * Host side of the core kernels (`*_halves`: coreForward.c, coreBackward.c, coreSgLoss.c,
 * coreEstimator.c, rollout.c). A core phase is always computed as fixed halves of its rows whose
 * partial outputs the caller combines in a fixed order (half 0 first); the runtime runs the
 * halves as a call of width 2 in chunks of one half, so which thread computes a half changes no
 * bit. Each half's arguments go into a task block (include/core.h: argument k at int32 words
 * 2 + 2k, an int32 or an f64).
 */
import { allocLayout } from "./layout.js";
import { type KernelName, kernelRuntime, type PendingKernel } from "./runtime.js";

/** Words of one task block (TASK_WORDS in include/core.h). */
const TASK_WORDS = 128;

/** An int32 argument (a size, a flag or a byte address), or an f64 one. */
export type TaskArg = number | { readonly f64: number };

/** A core kernel's named arguments (every one a number: size, flag, byte address or f64). */
export type TaskArgs<K extends readonly string[]> = Readonly<Record<K[number], number>>;

/** The sizes every core kernel takes after its row count: width, q, parents, slots, input neurons. */
export const NEURON_SIZES = ["W", "q", "P", "M", "Ni"] as const;

/**
 * The typed writer of one core kernel's task arguments: named arguments in, the C function's
 * order out, the names in `doubles` as f64.
 */
export function taskWriter<K extends readonly string[]>(
  order: K,
  doubles: readonly K[number][],
): (a: TaskArgs<K>) => TaskArg[] {
  return (a) => order.map((k: K[number]) => (doubles.includes(k) ? { f64: a[k] } : a[k]));
}

/** An f64 argument of a core kernel. */
export function f64(x: number): TaskArg {
  return { f64: x };
}

/** The core kernels that take task blocks. */
export type CoreKernelName = Extract<KernelName, `${string}_halves`>;

/**
 * Starts core kernel `name` on its halves (`undefined`: a half without rows): queued for the
 * helper thread now when `parallel`; `finish()` completes it here.
 */
export function startHalves(
  name: CoreKernelName,
  halves: readonly (readonly TaskArg[] | undefined)[],
  parallel: boolean,
): PendingKernel {
  const blocks = allocLayout({ i32: [halves.length * TASK_WORDS] });
  const words = blocks.i32[0] as Int32Array;
  const doubles = new Float64Array(words.buffer, words.byteOffset, words.length / 2);
  halves.forEach((args, h) => {
    const base = h * TASK_WORDS;
    words[base] = args === undefined ? 0 : 1;
    if (args === undefined) return;
    if (2 + 2 * args.length > TASK_WORDS) throw new RangeError(`${name}: too many task arguments`);
    args.forEach((a, k) => {
      const w = base + 2 + 2 * k;
      if (typeof a === "number") words[w] = a;
      else doubles[w / 2] = a.f64;
    });
  });
  const pending = kernelRuntime().start(name, [words.byteOffset], halves.length, { chunk: 1, parallel });
  return {
    finish: () => {
      pending.finish();
      blocks.release();
    },
  };
}
