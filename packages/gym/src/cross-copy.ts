/**
 * A program can hold two copies of @sgprop/gym: a user's project depends on one version, an env
 * package on another, and npm installs both. A plain `instanceof` then fails across the copies
 * (an env from @sgprop/popgym's copy is "not an Env" for the user's copy, its spaces "not Spaces"),
 * and each copy would have its own registry. So the classes below carry a brand registered with
 * `Symbol.for` (one symbol per class name, the same in every copy), `instanceof` on them checks
 * that brand, and the registry lives on `globalThis` under a `Symbol.for` key (registry.ts).
 */

const ordinaryHasInstance = Function.prototype[Symbol.hasInstance];

/**
 * Makes `x instanceof ctor` true for instances made by any copy of @sgprop/gym's class `name`.
 * Subclasses defined elsewhere (a user's `class Corridor extends Env`) keep the ordinary check.
 */
export function crossCopyClass(ctor: { readonly prototype: object }, name: string): void {
  const brand = Symbol.for(`@sgprop/gym:${name}`);
  Object.defineProperty(ctor.prototype, brand, { value: true });
  Object.defineProperty(ctor, Symbol.hasInstance, {
    value(this: unknown, x: unknown): boolean {
      if (this !== ctor) return ordinaryHasInstance.call(this, x);
      return (
        (typeof x === "object" || typeof x === "function") &&
        x !== null &&
        (x as Record<symbol, unknown>)[brand] === true
      );
    },
  });
}

/** A value shared by every copy of @sgprop/gym in this program, created on first use. */
export function sharedGlobal<T>(name: string, create: () => T): T {
  const key = Symbol.for(`@sgprop/gym:${name}`);
  const store = globalThis as unknown as Record<symbol, T | undefined>;
  let value = store[key];
  if (value === undefined) {
    value = create();
    Object.defineProperty(globalThis, key, { value, enumerable: false });
  }
  return value;
}
