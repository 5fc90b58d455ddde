// Loaded with `node --import`: makes "fast-check" unresolvable, as in a project that never
// installed it, to test that @sgprop/gym works without its optional peer dependency.
import { register } from "node:module";

register(
  `data:text/javascript,${encodeURIComponent(`
    export async function resolve(specifier, context, next) {
      if (specifier === "fast-check" || specifier.startsWith("fast-check/")) {
        const error = new Error("Cannot find package 'fast-check' (hidden by the test)");
        error.code = "ERR_MODULE_NOT_FOUND";
        throw error;
      }
      return next(specifier, context);
    }
  `)}`,
);
