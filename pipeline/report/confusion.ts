// Section 4: the confusion matrix (row-normalised, classes by training frequency) and its largest confusions.
import { figure } from './chart.js';
import { esc, notRunYet, pct, type Section, table } from './html.js';
import { classesOf, type RunData } from './load.js';

/** A heatmap of more classes than this is unreadable: the most frequent ones are shown (the table covers all). */
const MAX_HEATMAP_CLASSES = 60;

export async function confusionSection(r: RunData): Promise<Section> {
  const ev = r.eval;
  const cls = classesOf(r);
  if (!ev || !cls) return { id: 'confusion', title: 'Confusion matrix', body: notRunYet(`ecl eval ${r.dir}`) };
  const C = ev.confusion.length;
  const order = Array.from({ length: C }, (_, i) => i).sort((a, b) => (ev.classCounts[b] ?? 0) - (ev.classCounts[a] ?? 0) || a - b);
  const name = (i: number) => `${i} ${cls.names[i] ?? ''}`;
  const rowSum = ev.confusion.map((row) => row.reduce((s, v) => s + v, 0));
  const cells: { t: string; p: string; v: number; n: number; to: number; po: number }[] = [];
  const shown = order.slice(0, MAX_HEATMAP_CLASSES);
  shown.forEach((t, to) => shown.forEach((p, po) => cells.push({ t: name(t), p: name(p), v: rowSum[t] ? ev.confusion[t]![p]! / rowSum[t]! : 0, n: ev.confusion[t]![p]!, to, po })));
  const chart = await figure('confusion', `Row-normalised confusion matrix: rows are the true class, columns the prediction, most frequent training class first${C > MAX_HEATMAP_CLASSES ? ` (the ${MAX_HEATMAP_CLASSES} most frequent of ${C})` : ''}.`, {
    width: Math.min(520, 28 * shown.length + 40),
    height: Math.min(520, 28 * shown.length + 40),
    data: { values: cells },
    encoding: {
      x: { field: 'p', type: 'ordinal', sort: { field: 'po' }, title: 'predicted', axis: { labelAngle: -40 } },
      y: { field: 't', type: 'ordinal', sort: { field: 'to' }, title: 'true class' },
    },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'v', type: 'quantitative', scale: { scheme: 'blues', domain: [0, 1] }, title: 'share of row', legend: { format: '%' } } } },
      ...(shown.length <= 20
        ? [{ mark: { type: 'text' as const, fontSize: 9 }, encoding: { text: { field: 'v', type: 'quantitative' as const, format: '.0%' }, color: { condition: { test: 'datum.v > 0.5', value: 'white' }, value: '#333' } } }]
        : []),
    ],
  });
  const off: { t: number; p: number; share: number; n: number }[] = [];
  for (let t = 0; t < C; t++) for (let p = 0; p < C; p++) if (t !== p && ev.confusion[t]![p]! > 0 && rowSum[t]) off.push({ t, p, share: ev.confusion[t]![p]! / rowSum[t]!, n: ev.confusion[t]![p]! });
  off.sort((a, b) => b.share - a.share || b.n - a.n);
  const top = off.slice(0, 8).map((o) => [esc(name(o.t)), esc(String(ev.classCounts[o.t])), esc(name(o.p)), esc(String(ev.classCounts[o.p])), `${pct(o.share)} (${o.n})`]);
  const largest = top.length ? `<div><p><strong>Largest confusions</strong> (true → predicted, share of the true class's test images):</p>${table(['true class', 'train n', 'predicted as', 'train n', 'share'], top)}</div>` : '<p>No off-diagonal cells.</p>';
  return { id: 'confusion', title: 'Confusion matrix', body: `<div class="grid">${chart}${largest}</div>` };
}
