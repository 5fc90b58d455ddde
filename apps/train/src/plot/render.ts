import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { Resvg } from "@resvg/resvg-js";
import type * as Vega from "vega";
import type { TopLevelSpec } from "vega-lite";

/** A Vega-Lite specification (any top-level spec: single view, layer, concat, facet). */
export type VegaLiteSpec = TopLevelSpec;

export interface RenderOptions {
  /** PNG pixel density relative to the SVG's CSS pixels (2 gives crisp figures on paper). */
  readonly pngScale?: number;
  /** Background colour for both outputs; Vega's default is transparent, which reads badly in viewers. */
  readonly background?: string;
}

export class FigureRenderError extends Error {
  override readonly name = "FigureRenderError";
}

/** Renders a Vega-Lite spec to an SVG string, headless (vega's SVG renderer needs no canvas). */
export async function renderSvg(spec: VegaLiteSpec, options: RenderOptions = {}): Promise<string> {
  // Loaded on first use: vega's graph (vega-lite imports it too) has a top-level await (vega-canvas
  // probes for node-canvas), which would make require("@sgprop/train") fail with
  // ERR_REQUIRE_ASYNC_MODULE.
  const [vega, { compile }] = await Promise.all([import("vega"), import("vega-lite")]);
  let vgSpec: Vega.Spec;
  try {
    vgSpec = compile(spec).spec;
  } catch (error) {
    throw new FigureRenderError(`Vega-Lite compilation failed: ${(error as Error).message}`);
  }
  const view = new vega.View(vega.parse(vgSpec), { renderer: "none" });
  view.background(options.background ?? "white");
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises an SVG string to PNG bytes with resvg (prebuilt native binary from npm). */
export function svgToPng(svg: string, options: RenderOptions = {}): Uint8Array {
  const resvg = new Resvg(svg, {
    fitTo: { mode: "zoom", value: options.pngScale ?? 2 },
    background: options.background ?? "white",
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" },
  });
  return resvg.render().asPng();
}

async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/**
 * Renders `spec` to `<outPathWithoutExtension>.svg` and `.png` (written atomically, parent folders
 * created) and returns both paths.
 */
export async function renderFigure(
  spec: VegaLiteSpec,
  outPathWithoutExtension: string,
  options: RenderOptions = {},
): Promise<{ svg: string; png: string }> {
  const svgText = await renderSvg(spec, options);
  const png = svgToPng(svgText, options);
  const svgPath = `${outPathWithoutExtension}.svg`;
  const pngPath = `${outPathWithoutExtension}.png`;
  await mkdir(dirname(svgPath), { recursive: true });
  await writeAtomic(svgPath, svgText);
  await writeAtomic(pngPath, png);
  return { svg: svgPath, png: pngPath };
}
