export {
  FigureRenderError,
  type RenderOptions,
  renderFigure,
  renderSvg,
  svgToPng,
  type VegaLiteSpec,
} from "./render.js";
