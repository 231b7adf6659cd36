// `ecl report --compare`: methods (each run's loss) compared over seeds: mean ± 95% CI (Student t) of top-1,
// balanced, many, medium and few accuracy; paired differences against a baseline over the seeds both ran; and
// per-class accuracy against class frequency, one curve per method.
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../../models/artifacts/atomic-write.js';
import { figure } from './chart.js';
import { esc, notRunYet, page, pct, type Section, table } from './html.js';
import { classesOf, loadRun, type RunData } from './load.js';
import { perClassOf } from './longtail.js';

const METRICS = ['top1', 'balanced', 'many', 'medium', 'few'] as const;
type Metric = (typeof METRICS)[number];

/** Two-sided 95% t quantiles for 1..30 degrees of freedom (then the normal 1.96). */
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** Mean and the half-width of its 95% confidence interval (null with one value). */
export function meanCi(xs: number[]): { mean: number; ci: number | null; n: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, ci: null, n };
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  return { mean, ci: (T95[n - 2] ?? 1.96) * (sd / Math.sqrt(n)), n };
}

export interface CompareRun {
  dir: string;
  method: string;
  seed: number | null;
  source: string;
  values: Record<Metric, number | null>;
  perClass: (number | null)[];
  counts: number[];
}

/** A run's final numbers: eval.json when it exists, else the last epoch of metrics.jsonl; null with neither. */
export function compareRunOf(r: RunData): CompareRun | null {
  const cls = classesOf(r);
  const pc = perClassOf(r);
  if (!pc) return null;
  const ev = r.eval;
  const last = r.metrics.at(-1);
  const values: Record<Metric, number | null> = ev
    ? { top1: ev.top1, balanced: ev.balancedAccuracy, many: ev.many?.accuracy ?? null, medium: ev.medium?.accuracy ?? null, few: ev.few?.accuracy ?? null }
    : { top1: last!.test.top1, balanced: last!.test.balancedAccuracy, many: last!.test.many, medium: last!.test.medium, few: last!.test.few };
  const cfg = r.config ?? {};
  return {
    dir: r.dir,
    method: typeof cfg.loss === 'string' ? cfg.loss : 'unknown',
    seed: typeof cfg.seed === 'number' ? cfg.seed : null,
    source: pc.source,
    values,
    perClass: pc.acc,
    counts: cls?.counts ?? [],
  };
}

const ciText = (m: { mean: number; ci: number | null; n: number }) => `${(m.mean * 100).toFixed(2)}${m.ci === null ? '' : ` ± ${(m.ci * 100).toFixed(2)}`}`;

export async function compareSections(runs: CompareRun[]): Promise<Section[]> {
  const methods = [...new Set(runs.map((r) => r.method))];
  const byMethod = new Map(methods.map((m) => [m, runs.filter((r) => r.method === m)]));
  const stat = (m: string, k: Metric) => {
    const xs = byMethod.get(m)!.map((r) => r.values[k]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    return xs.length ? meanCi(xs) : null;
  };
  const rows = methods.map((m) => [esc(m), esc(byMethod.get(m)!.length), ...METRICS.map((k) => (stat(m, k) ? ciText(stat(m, k)!) : 'n/a'))]);
  const points = methods.flatMap((m) =>
    METRICS.flatMap((k) => {
      const s = stat(m, k);
      return s ? [{ method: m, metric: k, mean: s.mean, lo: s.mean - (s.ci ?? 0), hi: s.mean + (s.ci ?? 0) }] : [];
    }),
  );
  const chart = await figure('compare-methods', 'Mean accuracy per method with its 95% confidence interval over seeds (Student t; no bar with one seed).', {
    data: { values: points },
    facet: { column: { field: 'metric', type: 'nominal', sort: [...METRICS], title: null } },
    spec: {
      width: 120,
      height: 200,
      layer: [
        { mark: { type: 'rule' }, encoding: { x: { field: 'method', type: 'nominal', title: null, axis: { labelAngle: -40 } }, y: { field: 'lo', type: 'quantitative', axis: { format: '%' }, title: 'test accuracy' }, y2: { field: 'hi' }, color: { field: 'method', type: 'nominal' } } },
        { mark: { type: 'point', filled: true, size: 60 }, encoding: { x: { field: 'method', type: 'nominal' }, y: { field: 'mean', type: 'quantitative' }, color: { field: 'method', type: 'nominal' } } },
      ],
    },
  } as never);
  const summary: Section = {
    id: 'methods',
    title: 'Methods',
    body: `<p>${methods.length} methods, ${runs.length} runs. Test accuracy in %, mean ± 95% CI half-width over seeds.</p>${table(['method', 'runs', 'top-1', 'balanced', 'many', 'medium', 'few'], rows)}${chart}`,
  };
  // Paired differences against the baseline (ce when compared, else the first method), over the seeds both ran.
  const base = methods.includes('ce') ? 'ce' : methods[0]!;
  const diffRows: string[][] = [];
  for (const m of methods) {
    if (m === base) continue;
    const pairs = byMethod.get(m)!.flatMap((r) => {
      const b = byMethod.get(base)!.find((x) => x.seed !== null && x.seed === r.seed);
      return b ? [[r, b] as const] : [];
    });
    const cells = METRICS.map((k) => {
      const d = pairs.map(([r, b]) => (r.values[k] ?? NaN) - (b.values[k] ?? NaN)).filter(Number.isFinite);
      return d.length ? ciText(meanCi(d)) : 'n/a';
    });
    diffRows.push([esc(`${m} − ${base}`), esc(pairs.length), ...cells]);
  }
  const paired: Section = {
    id: 'paired',
    title: 'Paired differences',
    body: diffRows.length
      ? `<p>Each method minus ${esc(base)} on the same seed (percentage points, mean ± 95% CI over the seeds both ran).</p>${table(['difference', 'seeds', 'top-1', 'balanced', 'many', 'medium', 'few'], diffRows)}`
      : '<p>Only one method: nothing to pair.</p>',
  };
  const C = Math.max(0, ...runs.map((r) => r.perClass.length));
  const curves = methods.flatMap((m) =>
    Array.from({ length: C }, (_, c) => {
      const rs = byMethod.get(m)!;
      const xs = rs.map((r) => r.perClass[c]).filter((v): v is number => typeof v === 'number');
      const n = rs.find((r) => r.counts[c] !== undefined)?.counts[c];
      return xs.length && n ? [{ method: m, n, acc: meanCi(xs).mean }] : [];
    }).flat(),
  );
  const perClass: Section = {
    id: 'per-class',
    title: 'Per-class accuracy by method',
    body: curves.length
      ? await figure('compare-per-class', 'Mean per-class test accuracy over seeds against the class\'s training images (log x), one curve per method.', {
          width: 520,
          height: 280,
          data: { values: curves },
          mark: { type: 'line', point: true },
          encoding: { x: { field: 'n', type: 'quantitative', scale: { type: 'log' }, title: 'training images of the class' }, y: { field: 'acc', type: 'quantitative', axis: { format: '%' }, scale: { domain: [0, 1] }, title: 'test accuracy' }, color: { field: 'method', type: 'nominal' } },
        } as never)
      : notRunYet('ecl eval <run>', '(no per-class accuracy)'),
  };
  const runRows = runs.map((r) => [esc(r.dir), esc(r.method), esc(r.seed ?? 'n/a'), esc(r.source), pct(r.values.top1), pct(r.values.few)]);
  const list: Section = { id: 'runs', title: 'Runs', body: table(['run', 'method', 'seed', 'numbers from', 'top-1', 'few'], runRows) };
  return [summary, paired, perClass, list];
}

/** Writes the comparison (default <parent of the first run>/compare.html). A run without results is skipped and named. */
export async function writeCompareReport(dirs: string[], out?: string): Promise<{ path: string; skipped: string[]; methods: string[] }> {
  const skipped: string[] = [];
  const runs: CompareRun[] = [];
  for (const d of dirs) {
    const r = loadRun(d);
    skipped.push(...r.skipped.map((s) => `${d}: ${s}`));
    const c = compareRunOf(r);
    if (c) runs.push(c);
    else skipped.push(`${d}: no results (neither eval.json nor a metrics.jsonl epoch)`);
  }
  const path = out ?? join(dirname(resolve(dirs[0]!)), 'compare.html');
  const methods = [...new Set(runs.map((r) => r.method))];
  const sections = runs.length ? await compareSections(runs) : [{ id: 'methods', title: 'Methods', body: notRunYet('ecl train ... / ecl eval <run>') }];
  writeFileAtomic(path, page(`Method comparison (${methods.length} methods, ${runs.length} runs)`, `written ${esc(new Date().toISOString())}`, sections, skipped));
  return { path, skipped, methods };
}
