// Section 1: the run card (what ran, on what, how fast) and the long-tail profile of the training data.
import { figure } from './chart.js';
import { esc, notRunYet, num, type Section } from './html.js';
import { classesOf, type RunData } from './load.js';

const HYPER = ['loss', 'epochs', 'batchSize', 'lr', 'schedule', 'warmupEpochs', 'momentum', 'weightDecay', 'temperature', 'laTau', 'lambdaBc', 'lambdaCc', 'augment', 'seed'];

export async function runCardSection(r: RunData): Promise<Section> {
  const cfg = r.config ?? {};
  const backend = r.runInfo && typeof r.runInfo.backend === 'object' && r.runInfo.backend ? (r.runInfo.backend as Record<string, unknown>) : null;
  const rows: [string, string][] = [
    ['run', esc(r.dir)],
    ['dataset', cfg.dataset === undefined ? 'n/a' : `${esc(cfg.dataset)}${cfg.imbalance !== undefined ? ` (imbalance factor ${esc(cfg.imbalance)})` : ''}`],
    ['model', esc(r.checkpoint?.model ?? cfg.model ?? 'n/a')],
    ['loss and hyper-parameters', HYPER.filter((k) => cfg[k] !== undefined).map((k) => `${k} ${esc(JSON.stringify(cfg[k]))}`).join(', ') || 'n/a'],
    ['backend', esc(backend?.name ?? r.summary?.backend ?? r.metrics.at(-1)?.backend ?? 'n/a') + (backend?.requested ? ` (requested ${esc(backend.requested)})` : '')],
    ['wall time', r.summary?.wallSeconds !== undefined ? `${num(r.summary.wallSeconds, 1)} s` : 'n/a'],
    ['training speed', r.summary?.imgPerSec !== undefined ? `${num(r.summary.imgPerSec, 0)} img/s` : 'n/a'],
    ['epochs done', r.checkpoint ? String(r.checkpoint.epoch) : r.metrics.length ? String(r.metrics.at(-1)!.epoch) : 'n/a'],
    ['git commit', r.checkpoint?.gitCommit ? esc(r.checkpoint.gitCommit) : `unknown (recorded by export: <code>ecl export ${esc(r.dir)}</code>)`],
    ['checkpoint sha256', r.checkpoint ? `<code>${esc(r.checkpoint.sha256)}</code>` : 'n/a'],
    ['started', esc(r.runInfo?.startedAt ?? 'n/a')],
  ];
  let body = `<div class="grid"><dl class="card">${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>`;
  const cls = classesOf(r);
  if (cls) {
    // Log-scale bars need a baseline above 0: they start at 1 image.
    const values = cls.counts.map((n, i) => ({ cls: `${i} ${cls.names[i] ?? ''}`, n: Math.max(n, 1), base: 1, order: -n }));
    body += await figure('profile', 'Training images per class (log scale): the long-tail profile.', {
      width: 360,
      height: 220,
      data: { values },
      mark: { type: 'bar', color: '#4c78a8' },
      encoding: {
        x: { field: 'cls', type: 'nominal', sort: { field: 'order' }, title: 'class (most frequent first)', axis: { labelAngle: -40 } },
        y: { field: 'n', type: 'quantitative', scale: { type: 'log' }, title: 'training images' },
        y2: { field: 'base' },
        tooltip: [{ field: 'cls' }, { field: 'n' }],
      },
    });
  } else body += notRunYet(`ecl train ... --name ${r.name}`, '(no class counts: no checkpoint or eval.json)');
  return { id: 'run', title: 'Run', body: body + '</div>' };
}
