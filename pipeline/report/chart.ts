// A vega-lite spec -> inline SVG, rendered at build time in node (vega's headless 'none' renderer): the report
// needs no script and no network to show its charts, and prints like any page.
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { esc } from './html.js';

export type Spec = vl.TopLevelSpec;

const CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  view: { stroke: '#ddd' },
};

let chartCount = 0;

/** The SVG of one chart. Ids (clip paths, gradients) get a per-chart prefix: several inline SVGs share a page. */
export async function chartSvg(spec: Spec): Promise<string> {
  const compiled = vl.compile({ ...spec, config: { ...CONFIG, ...(spec.config ?? {}) } } as Spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const p = `c${++chartCount}-`;
  return svg.replace(/\bid="([^"]+)"/g, `id="${p}$1"`).replace(/url\(#([^)]+)\)/g, `url(#${p}$1)`);
}

/** A chart in a <figure data-chart=name> with its caption (what the tests count marks in). */
export async function figure(name: string, caption: string, spec: Spec): Promise<string> {
  return `<figure class="chart" data-chart="${esc(name)}">${await chartSvg(spec)}<figcaption>${caption}</figcaption></figure>`;
}
