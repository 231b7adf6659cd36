// Section 5: the geometry of the test features per epoch (neural-collapse measures) with each ideal value drawn.
import { figure } from './chart.js';
import { esc, notRunYet, type Section } from './html.js';
import type { RunData } from './load.js';

/** metrics.jsonl geometry keys, what they measure and their ideal (null: read from the epoch, e.g. -1/(C-1)). */
const METRICS: { key: string; title: string; ideal: number | 'idealCosine' }[] = [
  { key: 'nc1', title: 'within-class collapse (NC1)', ideal: 0 },
  { key: 'equiangularityMean', title: 'class-mean cosine (mean)', ideal: 'idealCosine' },
  { key: 'equiangularityStd', title: 'class-mean cosine (std)', ideal: 0 },
  { key: 'equinormCv', title: 'equinorm (CV of mean norms)', ideal: 0 },
  { key: 'classifierAlignment', title: 'classifier–mean alignment', ideal: 1 },
  { key: 'classifierPrototypeGramDistance', title: 'classifier–prototype Gram distance', ideal: 0 },
];

export async function geometrySection(r: RunData): Promise<Section> {
  const epochs = r.metrics.filter((e) => e.geometry && typeof e.geometry === 'object');
  if (!epochs.length) return { id: 'geometry', title: 'Geometry', body: notRunYet(`ecl train ... --name ${r.name}`, '(no geometry in metrics.jsonl)') };
  const figs: string[] = [];
  for (const m of METRICS) {
    const values = epochs.map((e) => ({ epoch: e.epoch, value: e.geometry![m.key] })).filter((v): v is { epoch: number; value: number } => typeof v.value === 'number' && Number.isFinite(v.value));
    if (!values.length) continue;
    const ideal = m.ideal === 'idealCosine' ? epochs.at(-1)!.geometry!.idealCosine : m.ideal;
    const layers: object[] = [
      {
        data: { values },
        mark: { type: 'line', point: true, color: '#4c78a8' },
        encoding: { x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1 } }, y: { field: 'value', type: 'quantitative', title: m.title, scale: { zero: false } } },
      },
    ];
    if (typeof ideal === 'number' && Number.isFinite(ideal))
      layers.push({ data: { values: [{ ideal }] }, mark: { type: 'rule', color: '#2ca02c', strokeDash: [5, 3] }, encoding: { y: { field: 'ideal', type: 'quantitative' } } });
    figs.push(await figure(`geometry-${m.key}`, `${esc(m.title)}; dashed: ideal ${typeof ideal === 'number' ? esc(ideal.toFixed(3)) : 'n/a'}.`, { width: 240, height: 150, layer: layers } as never));
  }
  return { id: 'geometry', title: 'Geometry', body: `<p>Test-set features at the end of each epoch; a collapsed simplex equiangular tight frame reaches every dashed line.</p><div class="grid">${figs.join('')}</div>` };
}
