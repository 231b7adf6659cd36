// Section 6: cross-runtime parity from parity.json: error bars against the tolerance, the distribution of
// per-class errors, top-1 agreement overall and per class (rarest first), what ran and latency per image.
import { figure } from './chart.js';
import { esc, notRunYet, num, pct, type Section, table } from './html.js';
import type { RunData } from './load.js';

export async function paritySection(r: RunData): Promise<Section> {
  const p = r.parity;
  if (!p) return { id: 'parity', title: 'Parity', body: notRunYet(`ecl parity ${r.dir}`) };
  const ok = p.results.filter((x) => x.comparison);
  const out = ok[0]?.comparison?.logits ? 'logits' : 'probs';
  const rows = p.results.map((x) => {
    const c = x.comparison;
    const e = c?.[out as 'logits'];
    const perImage = x.inferenceMs !== undefined && x.samples ? x.inferenceMs / x.samples : null;
    return [
      esc(x.label ?? x.runtime),
      `<span class="${x.status === 'pass' ? 'pass' : x.status === 'fail' ? 'fail' : ''}">${esc(x.status)}</span>${x.reason ? ` <small>${esc(x.reason)}</small>` : ''}`,
      esc(x.ranOn ?? 'n/a'),
      esc(x.samples ?? 'n/a'),
      e ? esc(num(e.maxAbs)) : 'n/a',
      c ? pct(c.top1Agreement, 2) : 'n/a',
      perImage !== null ? `${esc(num(perImage * 1000, 1))} µs` : 'n/a',
    ];
  });
  const head = `<p>Reference: ${esc(p.reference.runtime)} (${esc(p.reference.ranOn)}), ${esc(p.mode)} mode${p.dataset ? `, ${esc(p.dataset.name)} ${esc(p.dataset.split)} split (${esc(p.dataset.samples)} images)` : ''}. Result: <span class="${p.passed ? 'pass' : 'fail'}">${p.passed ? 'PASS' : 'FAIL'}</span>.</p>`;
  const tbl = table(['runtime', 'status', 'execution provider', 'images', `max |Δ ${out}|`, 'top-1 agreement', 'latency / image'], rows);
  if (!ok.length) return { id: 'parity', title: 'Parity', body: head + tbl };
  const bars = ok.flatMap((x) => (['maxAbs', 'p99Abs', 'meanAbs'] as const).map((k) => ({ rt: x.runtime, stat: k.replace('Abs', ''), v: Math.max(x.comparison![out as 'logits']![k], 1e-12) })));
  const tols = ok.map((x) => ({ rt: x.runtime, atol: x.tolerance.atol }));
  const errChart = await figure('parity-errors', `Absolute ${out} error against the reference per runtime (log scale): max, p99, mean; red tick: the runtime's tolerance (atol).`, {
    width: 360,
    height: 200,
    layer: [
      // Points, not bars: bars have no baseline on a log scale.
      { data: { values: bars }, mark: { type: 'point', filled: true, size: 80 }, encoding: { y: { field: 'rt', type: 'nominal', title: null }, x: { field: 'v', type: 'quantitative', scale: { type: 'log' }, title: `|Δ ${out}|` }, color: { field: 'stat', type: 'nominal', title: null }, shape: { field: 'stat', type: 'nominal', title: null } } },
      { data: { values: tols }, mark: { type: 'tick', color: '#d62728', thickness: 3, size: 30 }, encoding: { y: { field: 'rt', type: 'nominal' }, x: { field: 'atol', type: 'quantitative' } } },
    ],
  } as never);
  // parity.json keeps per-class error summaries, not every element: the histogram is over classes.
  const hist = ok.flatMap((x) => (x.tail?.classes ?? []).map((c) => ({ rt: x.runtime, e: Math.log10(Math.max(c.column.maxAbs, 1e-12)) })));
  const histChart = hist.length
    ? await figure('parity-histogram', 'Histogram of the per-class max absolute error (log10), one count per class and runtime.', {
        width: 300,
        height: 200,
        data: { values: hist },
        mark: { type: 'bar', opacity: 0.7 },
        encoding: { x: { field: 'e', bin: { maxbins: 20 }, type: 'quantitative', title: 'log10 max |Δ| of a class' }, y: { aggregate: 'count', type: 'quantitative', stack: null, title: 'classes' }, color: { field: 'rt', type: 'nominal', title: null } },
      } as never)
    : '';
  const agree = ok.flatMap((x) => (x.tail?.classes ?? []).map((c) => ({ rt: x.runtime, cls: `${c.classIndex} ${c.label}`, n: c.trainCount ?? 0, a: c.top1Agreement }))).filter((x): x is typeof x & { a: number } => typeof x.a === 'number');
  const agreeChart = agree.length
    ? await figure('parity-agreement', 'Top-1 agreement with the reference per class, rarest training class first.', {
        width: 360,
        height: 200,
        data: { values: agree },
        mark: { type: 'point', filled: true, size: 60 },
        encoding: { x: { field: 'cls', type: 'nominal', sort: { field: 'n' }, title: 'class (rarest first)', axis: { labelAngle: -40 } }, y: { field: 'a', type: 'quantitative', axis: { format: '.1%' }, title: 'top-1 agreement', scale: { domain: [Math.min(0.9, ...agree.map((x) => x.a)), 1] } }, color: { field: 'rt', type: 'nominal', title: null }, shape: { field: 'rt', type: 'nominal', title: null } },
      } as never)
    : '';
  return { id: 'parity', title: 'Parity', body: head + tbl + `<div class="grid">${errChart}${histChart}${agreeChart}</div>` };
}
