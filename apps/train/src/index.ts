export { main } from "./cli.js";
export { allCheckers, bundledGoldenFiles, conformanceCommand } from "./commands/conformance.js";
export {
  FigureRenderError,
  type RenderOptions,
  renderFigure,
  renderSvg,
  svgToPng,
  type VegaLiteSpec,
} from "./plot/index.js";
