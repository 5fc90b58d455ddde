import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { KERNELS_SOURCE_HASH, KERNELS_WASM_BASE64 } from "./generated/kernelsWasm.js";
import { KERNELS } from "./runtime.js";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The hash scripts/build.sh embeds: sha256 over "path\n" + contents of every source, sorted by path. */
function sourceHash(): string {
  const files = [
    ...readdirSync(join(root, "src/include"))
      .filter((f) => f.endsWith(".h"))
      .map((f) => `src/include/${f}`),
    ...readdirSync(join(root, "src/kernels"))
      .filter((f) => f.endsWith(".c"))
      .map((f) => `src/kernels/${f}`),
    "scripts/build.sh",
  ].sort();
  const h = createHash("sha256");
  for (const f of files) {
    h.update(`${f}\n`);
    h.update(readFileSync(join(root, f)));
  }
  return h.digest("hex");
}

/** Whether a clang that can compile and link wasm32 (with wasm-ld) is installed. */
function hasClang(): boolean {
  const probe =
    'CLANG="$(command -v clang-14 || command -v clang)" && echo "int x;" | ' +
    '"$CLANG" --target=wasm32 -nostdlib -Wl,--no-entry -x c - -o /dev/null';
  try {
    execFileSync("bash", ["-c", probe], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
}

describe("the committed kernel module", () => {
  it("was built from the C sources as they are (run scripts/build.sh after editing them)", () => {
    expect(KERNELS_SOURCE_HASH).toBe(sourceHash());
  });

  it("exports every kernel the runtime binds, and nothing the runtime does not know", () => {
    const mod = new (
      globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object } }
    ).WebAssembly.Module(Buffer.from(KERNELS_WASM_BASE64, "base64"));
    const exports = (
      globalThis as unknown as { WebAssembly: { Module: { exports(m: object): { name: string }[] } } }
    ).WebAssembly.Module.exports(mod).map((e) => e.name);
    expect([...exports].sort()).toEqual([...KERNELS].sort());
  });

  // Where a wasm32 clang is installed (developer machines); CI without one relies on the hash.
  it.skipIf(!hasClang())("scripts/build.sh rebuilds it byte for byte", () => {
    const out = join(mkdtempSync(join(tmpdir(), "sgprop-kernels-")), "kernels.ts");
    execFileSync("bash", [join(root, "scripts/build.sh")], {
      env: { ...process.env, OUT: out },
      stdio: "pipe",
    });
    expect(readFileSync(out, "utf8")).toBe(readFileSync(join(root, "src/generated/kernelsWasm.ts"), "utf8"));
  });
});
