// Section 3: the long-tail chart, per-class test accuracy against the class's training count (log x), with the
// many/medium/few bands; plus the per-class table (rarest first).
import { figure } from './chart.js';
import { esc, notRunYet, pct, type Section, table } from './html.js';
import { classesOf, GROUP_THRESHOLDS, groupOf, type RunData } from './load.js';

export const GROUP_COLORS = { many: '#4c78a8', medium: '#f58518', few: '#e45756' } as const;

/** Per-class accuracy from eval.json, else from the last epoch of metrics.jsonl. */
export function perClassOf(r: RunData): { acc: (number | null)[]; source: string } | null {
  if (r.eval) return { acc: r.eval.perClassAccuracy, source: `eval.json (epoch ${r.eval.epoch ?? '?'})` };
  const last = r.metrics.at(-1);
  if (last) return { acc: last.test.perClass, source: `metrics.jsonl, epoch ${last.epoch}` };
  return null;
}

/** The many/medium/few bands as x ranges over [lo, hi] training images. */
export function bands(lo: number, hi: number) {
  const { few, many } = GROUP_THRESHOLDS;
  return [
    { group: 'few', x: Math.min(lo, few) * 0.8, x2: few },
    { group: 'medium', x: few, x2: many },
    { group: 'many', x: many, x2: Math.max(hi, many) * 1.25 },
  ];
}

export async function longTailSection(r: RunData): Promise<Section> {
  const cls = classesOf(r);
  const pc = perClassOf(r);
  if (!cls || !pc) return { id: 'longtail', title: 'Accuracy against class frequency', body: notRunYet(`ecl eval ${r.dir}`) };
  const points = cls.counts
    .map((n, i) => ({ cls: `${i} ${cls.names[i] ?? ''}`, n: Math.max(n, 1), acc: pc.acc[i], group: groupOf(n) }))
    .filter((p): p is typeof p & { acc: number } => typeof p.acc === 'number');
  const ns = points.map((p) => p.n);
  const colors = { domain: Object.keys(GROUP_COLORS), range: Object.values(GROUP_COLORS) };
  const chart = await figure('longtail', `Per-class test accuracy against training images (log x), from ${esc(pc.source)}. Bands: few-shot (&lt;${GROUP_THRESHOLDS.few}), medium, many-shot (&gt;${GROUP_THRESHOLDS.many}).`, {
    width: 520,
    height: 280,
    layer: [
      {
        data: { values: bands(Math.min(...ns), Math.max(...ns)) },
        mark: { type: 'rect', opacity: 0.12 },
        encoding: {
          x: { field: 'x', type: 'quantitative', scale: { type: 'log' }, title: 'training images of the class' },
          x2: { field: 'x2' },
          color: { field: 'group', type: 'nominal', scale: colors, title: 'group' },
        },
      },
      {
        data: { values: points },
        mark: { type: 'point', filled: true, size: 70 },
        encoding: {
          x: { field: 'n', type: 'quantitative', scale: { type: 'log' } },
          y: { field: 'acc', type: 'quantitative', axis: { format: '%' }, scale: { domain: [0, 1] }, title: 'test accuracy' },
          color: { field: 'group', type: 'nominal', scale: colors },
          tooltip: [{ field: 'cls' }, { field: 'n' }, { field: 'acc', format: '.1%' }],
        },
      },
      {
        data: { values: points },
        mark: { type: 'text', dx: 6, align: 'left', fontSize: 10, color: '#333' },
        encoding: { x: { field: 'n', type: 'quantitative', scale: { type: 'log' } }, y: { field: 'acc', type: 'quantitative' }, text: { field: 'cls' } },
      },
    ],
  });
  const ev = r.eval;
  const summary = ev
    ? `<p>top-1 ${pct(ev.top1)}, balanced ${pct(ev.balancedAccuracy)}; many ${pct(ev.many?.accuracy)} · medium ${pct(ev.medium?.accuracy)} · few ${pct(ev.few?.accuracy)} on ${esc(ev.count)} test images.</p>`
    : `<p>From the last training epoch (${notRunYet(`ecl eval ${r.dir}`)}).</p>`;
  const order = cls.counts.map((n, i) => [n, i] as const).sort((a, b) => a[0] - b[0]);
  const rows = order.map(([n, i]) => [esc(`${i} ${cls.names[i] ?? ''}`), `<span class="n">${n}</span>`, groupOf(n), pct(pc.acc[i])]);
  return { id: 'longtail', title: 'Accuracy against class frequency', body: summary + `<div class="grid">${chart}${table(['class', 'train n', 'group', 'test accuracy'], rows)}</div>` };
}
