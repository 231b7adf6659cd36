// The report's HTML: one self-contained page (inline CSS and SVG, no script, no remote URL), print-friendly.
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export interface Section {
  id: string;
  title: string;
  /** HTML of the section's body (already escaped). */
  body: string;
}

/** The line a section shows when its data is missing: what to run to get it. */
export function notRunYet(command: string, what = ''): string {
  return `<p class="not-run">not run yet: <code>${esc(command)}</code>${what ? ` ${esc(what)}` : ''}</p>`;
}

export const pct = (v: number | null | undefined, digits = 1) => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : `${(v * 100).toFixed(digits)}%`);
export const num = (v: number | null | undefined, digits = 3) => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(digits));

/** A table: header cells and rows of already-escaped cell HTML. */
export function table(head: string[], rows: string[][], cls = ''): string {
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

const CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f; margin: 0 auto; max-width: 1200px; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 2px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.sub { color: #555; margin: 0 0 12px; }
nav a { margin-right: 12px; color: #2458a6; text-decoration: none; }
.grid { display: flex; flex-wrap: wrap; gap: 12px 24px; align-items: flex-start; }
figure.chart { margin: 0; } figure.chart svg { max-width: 100%; height: auto; } figcaption { color: #555; font-size: 12px; max-width: 560px; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 13px; } th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f5f7; } td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
dl.card { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; } dl.card dt { color: #555; } dl.card dd { margin: 0; word-break: break-all; }
.not-run { color: #8a5a00; background: #fff7e0; border-left: 3px solid #e0a800; padding: 4px 10px; }
.skipped { color: #8a1f11; background: #fdecea; border-left: 3px solid #d93025; padding: 4px 10px; }
.pass { color: #137333; font-weight: 600; } .fail { color: #c5221f; font-weight: 600; }
code { font-size: 12px; background: #f4f5f7; padding: 1px 4px; border-radius: 3px; }
@media print { body { max-width: none; padding: 0; font-size: 11px; } nav { display: none; } section { break-inside: avoid-page; } figure.chart { break-inside: avoid; } h2 { break-after: avoid; } }
`;

export function page(title: string, subtitle: string, sections: Section[], skipped: string[]): string {
  const nav = sections.map((s) => `<a href="#${esc(s.id)}">${esc(s.title)}</a>`).join('');
  const skip = skipped.length
    ? `<div class="skipped" id="skipped"><strong>Skipped (could not be read):</strong><ul>${skipped.map((s) => `<li>${esc(s)}</li>`).join('')}</ul></div>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body><header><h1>${esc(title)}</h1><p class="sub">${subtitle}</p><nav>${nav}</nav></header>
${skip}
${sections.map((s) => `<section id="${esc(s.id)}"><h2>${esc(s.title)}</h2>${s.body}</section>`).join('\n')}
</body></html>
`;
}
