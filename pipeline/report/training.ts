// Section 2: training curves per epoch from metrics.jsonl (loss terms, learning rate, accuracies).
import { figure, type Spec } from './chart.js';
import { esc, notRunYet, type Section } from './html.js';
import type { RunData } from './load.js';

type Row = { epoch: number; series: string; value: number };

function lines(name: string, caption: string, values: Row[], y: string, opts: { log?: boolean; percent?: boolean } = {}): Promise<string> {
  const spec: Spec = {
    width: 320,
    height: 200,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
      y: { field: 'value', type: 'quantitative', title: y, ...(opts.log ? { scale: { type: 'log' } } : {}), ...(opts.percent ? { axis: { format: '%' }, scale: { domain: [0, 1] } } : {}) },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
  return figure(name, caption, spec);
}

const fin = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export async function trainingSection(r: RunData): Promise<Section> {
  const m = r.metrics;
  if (!m.length) return { id: 'training', title: 'Training curves', body: notRunYet(`ecl train ... --name ${r.name}`, '(no metrics.jsonl epochs)') };
  const loss: Row[] = [];
  const lr: Row[] = [];
  const acc: Row[] = [];
  const groups: Row[] = [];
  for (const e of m) {
    if (fin(e.trainLoss) && e.trainLoss > 0) loss.push({ epoch: e.epoch, series: 'total', value: e.trainLoss });
    for (const [k, v] of Object.entries(e.lossParts ?? {})) if (fin(v) && v > 0 && Object.keys(e.lossParts).length > 1) loss.push({ epoch: e.epoch, series: k, value: v });
    if (fin(e.lr)) lr.push({ epoch: e.epoch, series: 'lr', value: e.lr });
    if (e.val && fin(e.val.top1)) acc.push({ epoch: e.epoch, series: 'val top-1', value: e.val.top1 });
    if (fin(e.test.top1)) acc.push({ epoch: e.epoch, series: 'test top-1', value: e.test.top1 });
    if (fin(e.test.balancedAccuracy)) acc.push({ epoch: e.epoch, series: 'test balanced', value: e.test.balancedAccuracy });
    for (const g of ['many', 'medium', 'few'] as const) if (fin(e.test[g])) groups.push({ epoch: e.epoch, series: g, value: e.test[g]! });
  }
  const figs = [
    await lines('loss', 'Training loss per epoch (log scale); each term of the objective when it has several.', loss, 'loss', { log: true }),
    await lines('lr', 'Learning rate at the end of each epoch.', lr, 'learning rate'),
    await lines('accuracy', 'Validation and test accuracy per epoch (no train accuracy is recorded: augmented batches).', acc, 'accuracy', { percent: true }),
    await lines('groups', 'Test accuracy of many-shot (&gt;100 training images), medium (20–100) and few-shot (&lt;20) classes.', groups, 'accuracy', { percent: true }),
  ];
  const last = m.at(-1)!;
  const note = `<p>${m.length} epochs; last: loss ${esc(last.trainLoss.toFixed(4))}, ${esc(last.imgPerSec?.toFixed?.(0) ?? 'n/a')} img/s, ${esc(last.epochSeconds ?? 'n/a')} s.</p>`;
  return { id: 'training', title: 'Training curves', body: note + `<div class="grid">${figs.join('')}</div>` };
}
