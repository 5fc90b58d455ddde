// pnpm hooks for this workspace.
//
// beforePacking (pnpm pack / pnpm publish): the published package.json has no "source" export
// condition. In the workspace that condition points at src/*.ts so that tests and the root scripts
// run from sources; src/ is not published, so a user who enabled the condition would get
// ERR_MODULE_NOT_FOUND. Every exports subpath is handled, whatever a package adds later. The
// scripts (they build from the repository) and devDependencies mean nothing to a user either.

/** Returns `target` without "source" keys, at any depth of nested conditions. */
function withoutSource(target) {
  if (target === null || typeof target !== "object") return target;
  if (Array.isArray(target)) return target.map(withoutSource);
  const out = {};
  for (const [key, value] of Object.entries(target)) {
    if (key !== "source") out[key] = withoutSource(value);
  }
  return out;
}

function beforePacking(pkg) {
  if (pkg.exports !== undefined) pkg.exports = withoutSource(pkg.exports);
  delete pkg.scripts;
  delete pkg.devDependencies;
  return pkg;
}

module.exports = { hooks: { beforePacking } };
